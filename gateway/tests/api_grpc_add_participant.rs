//! Add Participant over gRPC (`AddParticipant`): the same parameters, rules
//! and errors as REST, against the real daemon: a dialled agent joins the
//! customer who called in and each hears the other; bad requests get
//! precise codes and dial nothing.

mod common;
mod grpc_common;

use std::time::Duration;

use chorus_proto::v1 as pb;
use chorus_tests::phone::{Callee, CalleeOptions};
use chorus_tests::tone::assert_hears;
use common::{customer_calls_in, listen, start_with_settings, support_desk_app};
use grpc_common::{authed, client, named};
use tonic::Code;

const CUSTOMER: f32 = 400.0;
const AGENT: f32 = 700.0;

fn request(params: &[(&str, &str)]) -> pb::AddParticipantRequest {
    pb::AddParticipantRequest {
        mpc: named("support"),
        params: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpc_client_adds_a_dialled_agent_who_hears_the_customer_and_is_heard() {
    let app = support_desk_app().await;
    let chorus = start_with_settings(&app.url("/answer"), &[]).await;
    let customer = customer_calls_in(&chorus, CUSTOMER).await;
    let mut agent = Callee::listen(CalleeOptions::answer_with_tone(AGENT))
        .await
        .unwrap();
    let mut client = client(&chorus).await;
    let uri = agent.uri();
    let added = client
        .add_participant(authed(request(&[
            ("role", "Agent"),
            ("from", "15550001111"),
            ("to", &uri),
            ("enter_sound", "none"),
        ])))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(added.message, "add participant action initiated");
    assert_eq!(added.calls.len(), 1);
    assert_eq!(
        (added.calls[0].to.as_str(), added.calls[0].from.as_str()),
        (uri.as_str(), "15550001111")
    );
    let agent_call = agent.answered(Duration::from_secs(10)).await.unwrap();
    let heard = listen(&[&customer, &agent_call], 500, 1000).await;
    assert_hears("customer", &heard[0], &[AGENT], &[CUSTOMER]);
    assert_hears("agent", &heard[1], &[CUSTOMER], &[AGENT]);

    for (params, code, says) in [
        (
            vec![
                ("role", "Customer"),
                ("from", "1"),
                ("to", "sip:a@127.0.0.1:9<sip:b@127.0.0.1:9"),
            ],
            Code::InvalidArgument,
            "only allowed for the Agent role",
        ),
        (
            vec![("role", "Agent"), ("from", "1"), ("to", "15557654321")],
            Code::InvalidArgument,
            "no route to \"15557654321\"",
        ),
        (
            vec![
                ("role", "Agent"),
                ("call_uuid", "0b7b4242-8ee8-4872-b447-81b4ce972eae"),
            ],
            Code::NotFound,
            "not found",
        ),
    ] {
        let refused = client
            .add_participant(authed(request(&params)))
            .await
            .expect_err("refused");
        assert_eq!(refused.code(), code, "{params:?}: {refused:?}");
        assert!(refused.message().contains(says), "{params:?}: {refused:?}");
    }
    let unauthenticated = client
        .add_participant(tonic::Request::new(request(&[("role", "Agent")])))
        .await
        .expect_err("no token");
    assert_eq!(unauthenticated.code(), Code::Unauthenticated);
}
