//! `chorusctl member list|show MPC` and `member mute|unmute|hold|unhold|kick
//! MPC MEMBER|all`: an MPC's members over `ListParticipants`,
//! `GetParticipant`, `UpdateParticipants` and `KickParticipants`. The
//! changes print the members as they are after it. `member add MPC ROLE
//! --from … --to …` (or `--call-uuid`) is Add Participant
//! (`AddParticipant`): it prints the calls placed.

use chorus_proto::v1 as pb;
use clap::Subcommand;
use serde_json::json;

use crate::client::{Failure, answer, client, members, mpc_id};
use crate::render::{self, print};
use crate::settings::Settings;

#[derive(Subcommand)]
pub(crate) enum MemberCommand {
    /// An MPC's present members
    List { mpc: String },
    /// One member
    Show { mpc: String, member: u32 },
    /// Mute a member (or all)
    Mute { mpc: String, member: String },
    /// Unmute a member (or all)
    Unmute { mpc: String, member: String },
    /// Put a member (or all) on hold
    Hold { mpc: String, member: String },
    /// Take a member (or all) off hold
    Unhold { mpc: String, member: String },
    /// Take a member (or all) out of the MPC
    Kick { mpc: String, member: String },
    /// Add a participant (Plivo's Add Participant): dial --to (several
    /// separated by <, raced; agents only) from --from, or move a live
    /// call (--call-uuid); the MPC is created if new
    Add {
        mpc: String,
        /// Agent, Supervisor or Customer
        role: String,
        /// The caller id
        #[arg(long)]
        from: Option<String>,
        /// Where to call: sip: URIs, registered users or numbers, <-separated
        #[arg(long)]
        to: Option<String>,
        /// A live call to move here instead
        #[arg(long)]
        call_uuid: Option<String>,
        /// Any other Add Participant parameter, NAME=VALUE (repeatable):
        /// ring_timeout=30, confirm_key=5, enter_sound=none, …
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
    },
}

pub(crate) async fn run(
    settings: &Settings,
    command: MemberCommand,
    as_json: bool,
) -> Result<(), Failure> {
    let endpoint = settings.endpoint.as_str();
    let list = |participants: &[pb::Participant]| {
        let objects: Vec<_> = participants.iter().map(render::participant_json).collect();
        json!({ "participants": objects })
    };
    let (mpc, who, change) = match command {
        MemberCommand::List { mpc } => {
            let request = pb::ListParticipantsRequest {
                mpc: Some(mpc_id(&mpc)),
                call_uuid: None,
            };
            let mut api = client(settings).await?;
            let listed = answer(endpoint, api.list_participants(request)).await?;
            print(as_json, list(&listed.participants), || {
                render::participant_table(&listed.participants)
            });
            return Ok(());
        }
        MemberCommand::Show { mpc, member } => {
            let request = pb::GetParticipantRequest {
                mpc: Some(mpc_id(&mpc)),
                member_id: member,
            };
            let mut api = client(settings).await?;
            let p = answer(endpoint, api.get_participant(request)).await?;
            print(as_json, render::participant_json(&p), || {
                render::participant_table(std::slice::from_ref(&p))
            });
            return Ok(());
        }
        MemberCommand::Kick { mpc, member } => {
            let request = pb::KickParticipantsRequest {
                mpc: Some(mpc_id(&mpc)),
                members: Some(members(&member)?),
            };
            let mut api = client(settings).await?;
            let left = answer(endpoint, api.kick_participants(request)).await?;
            print(as_json, list(&left.participants), || {
                format!("kicked {member} from {mpc}")
            });
            return Ok(());
        }
        MemberCommand::Add {
            mpc,
            role,
            from,
            to,
            call_uuid,
            params,
        } => {
            let mut map = std::collections::HashMap::from([("role".to_owned(), role)]);
            let given = [("from", from), ("to", to), ("call_uuid", call_uuid)];
            map.extend(
                given
                    .into_iter()
                    .filter_map(|(k, v)| Some((k.to_owned(), v?))),
            );
            for param in params {
                let Some((name, value)) = param.split_once('=') else {
                    return Err(Failure::Usage(format!(
                        "--param takes NAME=VALUE, got {param:?}"
                    )));
                };
                map.insert(name.to_owned(), value.to_owned());
            }
            let request = pb::AddParticipantRequest {
                mpc: Some(mpc_id(&mpc)),
                params: map,
            };
            let mut api = client(settings).await?;
            let added = answer(endpoint, api.add_participant(request)).await?;
            let calls: Vec<_> = added
                .calls
                .iter()
                .map(|c| json!({ "to": c.to, "from": c.from, "call_uuid": c.call_uuid }))
                .collect();
            let value = json!({ "message": added.message, "calls": calls });
            print(as_json, value, || {
                let lines: Vec<String> = added
                    .calls
                    .iter()
                    .map(|c| format!("{}  {} -> {}", c.call_uuid, c.from, c.to))
                    .collect();
                format!("{}\n{}", added.message, lines.join("\n"))
            });
            return Ok(());
        }
        MemberCommand::Mute { mpc, member } => (mpc, member, (Some(true), None)),
        MemberCommand::Unmute { mpc, member } => (mpc, member, (Some(false), None)),
        MemberCommand::Hold { mpc, member } => (mpc, member, (None, Some(true))),
        MemberCommand::Unhold { mpc, member } => (mpc, member, (None, Some(false))),
    };
    let request = pb::UpdateParticipantsRequest {
        mpc: Some(mpc_id(&mpc)),
        members: Some(members(&who)?),
        mute: change.0,
        hold: change.1,
        coach_mode: None,
    };
    let mut api = client(settings).await?;
    let after = answer(endpoint, api.update_participants(request)).await?;
    print(as_json, list(&after.participants), || {
        render::participant_table(&after.participants)
    });
    Ok(())
}
