use super::*;
use crate::sip::digest::{answer, ha1};

const URI: &str = "sip:127.0.0.1";

fn from() -> std::net::IpAddr {
    "192.0.2.9".parse().unwrap()
}

fn registrar() -> Registrar {
    let dir = std::env::temp_dir().join(format!("chorus-users-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("users");
    let lines = format!(
        "# users\nalice:chorus:{}\nbob:elsewhere:{}\n",
        ha1("alice", "chorus", "s3cret"),
        ha1("bob", "elsewhere", "x")
    );
    std::fs::write(&file, lines).unwrap();
    let registrar = Registrar::load("chorus", Some(&file)).unwrap();
    std::fs::remove_dir_all(dir).unwrap();
    registrar
}

fn nonce(answer: &Answer) -> String {
    let challenge = &answer.headers[0].1;
    challenge
        .split("nonce=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

/// Registers `contacts` for alice (with `password`) after a challenge.
fn register(r: &Registrar, password: &str, contacts: Vec<&str>, expires: Option<&str>) -> Answer {
    let now = Instant::now();
    let first = r.register(
        &Register {
            source: SocketAddr::new(from(), 5070),
            user: "alice",
            authorization: None,
            contacts: contacts.clone(),
            expires,
        },
        now,
    );
    assert_eq!(first.status, 401);
    let auth = answer(
        &nonce(&first),
        ("alice", "chorus", password),
        "REGISTER",
        URI,
        "c1",
    );
    r.register(
        &Register {
            source: SocketAddr::new(from(), 5070),
            user: "alice",
            authorization: Some(&auth),
            contacts,
            expires,
        },
        now,
    )
}

#[test]
fn a_user_registers_after_a_challenge_and_can_be_found() {
    let r = registrar();
    assert_eq!(r.users(), 1, "bob is of another realm");
    let ok = register(
        &r,
        "s3cret",
        vec!["<sip:alice@127.0.0.1:5099>;expires=120"],
        Some("120"),
    );
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.headers,
        [(
            "Contact",
            "<sip:alice@127.0.0.1:5099>;expires=120".to_owned()
        )]
    );
    assert_eq!(
        r.contacts("alice", Instant::now()),
        [Reach {
            uri: "sip:alice@127.0.0.1:5099".to_owned(),
            via: None
        }]
    );
    let later = Instant::now() + Duration::from_secs(121);
    assert!(r.contacts("alice", later).is_empty(), "expired");
    assert!(!r.is_registered_source(from(), later), "expired");
}

#[test]
fn wrong_passwords_short_expiries_and_unregistering() {
    let r = registrar();
    assert_eq!(
        register(&r, "guess", vec!["<sip:alice@h>"], None).status,
        403
    );
    let short = register(&r, "s3cret", vec!["<sip:alice@h>"], Some("30"));
    assert_eq!(
        (short.status, short.headers.clone()),
        (423, vec![("Min-Expires", "60".to_owned())])
    );
    assert_eq!(
        register(&r, "s3cret", vec!["<sip:alice@a>", "<sip:alice@b>"], None).status,
        200
    );
    assert_eq!(r.contacts("alice", Instant::now()).len(), 2);
    let all_gone = register(&r, "s3cret", vec!["*"], Some("0"));
    assert_eq!((all_gone.status, all_gone.headers.len()), (200, 0));
    assert!(r.contacts("alice", Instant::now()).is_empty());
}

#[test]
fn without_a_users_file_nobody_registers() {
    let r = Registrar::load("chorus", None).unwrap();
    let none = r.register(
        &Register {
            source: SocketAddr::new(from(), 5070),
            user: "alice",
            authorization: None,
            contacts: Vec::new(),
            expires: None,
        },
        Instant::now(),
    );
    assert_eq!(none.status, 403);
}

#[test]
fn a_malformed_users_file_is_refused_naming_the_line() {
    let path = std::env::temp_dir().join(format!("chorus-users-bad-{}", uuid::Uuid::new_v4()));
    std::fs::write(&path, "alice:chorus:tooshort\n").unwrap();
    let error = Registrar::load("chorus", Some(&path)).err().unwrap();
    assert!(error.to_string().contains("line 1"), "{error}");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn a_contact_behind_nat_is_reached_where_its_register_came_from() {
    let source: SocketAddr = "192.0.2.9:40123".parse().unwrap();
    assert!(
        behind_nat("sip:alice@10.1.2.3:5060", source),
        "private contact"
    );
    assert!(behind_nat("<sip:alice@192.168.0.7;transport=udp>", source));
    assert!(
        behind_nat("sip:alice@[fd00::7]:5062", source),
        "unique-local"
    );
    assert!(
        !behind_nat("sip:alice@192.0.2.9:40123", source),
        "it is the source"
    );
    assert!(
        !behind_nat("sip:alice@127.0.0.1:5099", source),
        "not private"
    );
    assert!(
        !behind_nat("sip:alice@phone.example", source),
        "not an address"
    );
    let inside: SocketAddr = "10.1.2.3:5060".parse().unwrap();
    assert!(!behind_nat("sip:alice@10.1.2.3", inside), "no NAT between");
}
