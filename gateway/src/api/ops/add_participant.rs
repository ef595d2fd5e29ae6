//! Add Participant's parameters (seed 001) read into an [`AddParticipant`],
//! with Plivo's defaults, ranges and errors, for both APIs (REST's body,
//! gRPC's parameter map). The `<MultiPartyCall>` settings go through the
//! element's own parser ([`MultiPartyCall::from_attributes`]), so the APIs
//! and the XML share one set of rules; an error names the API's parameter.

use chorus_xml::{InvalidReason, Method, MultiPartyCall, checked_url};

use crate::api::params::{BadParam, Params};
use crate::call::outbound::request::{
    AddParticipant, Confirm, DELAY_DIAL, Destination, Dial, DialMusic, Joining, MAX_CALLER_NAME,
    MAX_DESTINATIONS, RING_TIMEOUT, SendDigits,
};

/// The API's name of each `<MultiPartyCall>` attribute it takes.
const SETTINGS: [(&str, &str); 35] = [
    ("role", "role"),
    ("max_duration", "maxDuration"),
    ("max_participants", "maxParticipants"),
    ("wait_music_url", "waitMusicUrl"),
    ("wait_music_method", "waitMusicMethod"),
    ("agent_hold_music_url", "agentHoldMusicUrl"),
    ("agent_hold_music_method", "agentHoldMusicMethod"),
    ("customer_hold_music_url", "customerHoldMusicUrl"),
    ("customer_hold_music_method", "customerHoldMusicMethod"),
    ("record", "record"),
    ("record_file_format", "recordFileFormat"),
    ("recording_callback_url", "recordingCallbackUrl"),
    ("recording_callback_method", "recordingCallbackMethod"),
    ("record_min_member_count", "recordMinMemberCount"),
    ("record_participant_track", "recordParticipantTrack"),
    ("status_callback_url", "statusCallbackUrl"),
    ("status_callback_method", "statusCallbackMethod"),
    ("status_callback_events", "statusCallbackEvents"),
    ("stay_alone", "stayAlone"),
    ("coach_mode", "coachMode"),
    ("mute", "mute"),
    ("hold", "hold"),
    ("start_mpc_on_enter", "startMpcOnEnter"),
    ("end_mpc_on_exit", "endMpcOnExit"),
    ("enter_sound", "enterSound"),
    ("enter_sound_method", "enterSoundMethod"),
    ("exit_sound", "exitSound"),
    ("exit_sound_method", "exitSoundMethod"),
    ("on_exit_action_url", "onExitActionUrl"),
    ("on_exit_action_method", "onExitActionMethod"),
    ("relay_dtmf_inputs", "relayDTMFInputs"),
    ("start_recording_audio", "startRecordingAudio"),
    ("start_recording_audio_method", "startRecordingAudioMethod"),
    ("stop_recording_audio", "stopRecordingAudio"),
    ("stop_recording_audio_method", "stopRecordingAudioMethod"),
];

/// Reads an Add Participant request for MPC `mpc_name`.
pub fn add_participant(mpc_name: &str, params: &Params) -> Result<AddParticipant, BadParam> {
    let spec = settings(mpc_name, params)?;
    let joining = match (params.text("call_uuid")?, dial(&spec, params)?) {
        (Some(_), Some(_)) => {
            return Err(BadParam(
                "call_uuid cannot be given with from and to".to_owned(),
            ));
        }
        (Some(call_uuid), None) => Joining::Transfer { call_uuid },
        (None, Some(dial)) => Joining::Dial(dial),
        (None, None) => {
            return Err(BadParam(
                "give either from and to (a new call) or call_uuid (a call to transfer)".to_owned(),
            ));
        }
    };
    Ok(AddParticipant { spec, joining })
}

/// The participant's (and MPC's) `<MultiPartyCall>` settings.
fn settings(mpc_name: &str, params: &Params) -> Result<MultiPartyCall, BadParam> {
    let mut attrs = Vec::new();
    for (api, xml) in SETTINGS {
        let value = match params.scalar(api)? {
            Some(value) => value,
            // Plivo's API posts recording callbacks by default; the
            // element GETs them.
            None if api == "recording_callback_method" => "POST".to_owned(),
            None => continue,
        };
        attrs.push((xml.to_owned(), value));
    }
    match MultiPartyCall::from_attributes(mpc_name, attrs) {
        Ok((spec, _)) => Ok(spec),
        Err(error) => {
            let api = SETTINGS
                .iter()
                .find(|(_, xml)| *xml == error.attribute)
                .map_or("the MPC name", |(api, _)| *api);
            Err(match error.reason {
                InvalidReason::Missing => BadParam(format!("{api} is required")),
                reason => BadParam(format!("{api} {reason}, got {:?}", error.value)),
            })
        }
    }
}

/// A new call's parameters, if `from` or `to` is given.
fn dial(spec: &MultiPartyCall, params: &Params) -> Result<Option<Dial>, BadParam> {
    let (from, to) = (params.text("from")?, params.text("to")?);
    let (from, to) = match (from, to) {
        (None, None) => return Ok(None),
        (Some(from), Some(to)) if !from.trim().is_empty() && !to.trim().is_empty() => (from, to),
        _ => {
            return Err(BadParam(
                "from and to are both required to dial a new call".to_owned(),
            ));
        }
    };
    let targets: Vec<String> = to.split('<').map(|t| t.trim().to_owned()).collect();
    if targets.iter().any(String::is_empty) {
        return Err(BadParam(format!("to has an empty destination: {to:?}")));
    }
    if targets.len() > MAX_DESTINATIONS {
        return Err(BadParam(format!(
            "to may hold at most {MAX_DESTINATIONS} destinations, got {}",
            targets.len()
        )));
    }
    if targets.len() > 1 && spec.role != chorus_xml::Role::Agent {
        return Err(BadParam(
            "several destinations (to) are only allowed for the Agent role".to_owned(),
        ));
    }
    let n = targets.len();
    let ring = per_destination(params, "ring_timeout", n, RING_TIMEOUT)?;
    let delay = per_destination(params, "delay_dial", n, DELAY_DIAL)?;
    let headers = sip_headers(params, n)?;
    let destinations = (targets.into_iter().zip(ring).zip(delay).zip(headers))
        .map(
            |(((to, ring_timeout), delay_dial), sip_headers)| Destination {
                to,
                ring_timeout,
                delay_dial,
                sip_headers,
            },
        )
        .collect();
    let caller_name = params.text("caller_name")?.unwrap_or_else(|| from.clone());
    let length = caller_name.chars().count();
    if length > MAX_CALLER_NAME {
        return Err(BadParam(format!(
            "caller_name must be at most {MAX_CALLER_NAME} characters, got {length}"
        )));
    }
    Ok(Some(Dial {
        from,
        caller_name,
        destinations,
        call_status_callback: callback(params, "call_status_callback", Method::Post)?,
        confirm: confirm(params)?,
        dial_music: dial_music(params)?,
        send_digits: send_digits(params)?,
    }))
}

/// A `<`-separated list of whole numbers in `(min, max, default)`: one
/// value for every destination, or one per destination.
fn per_destination(
    params: &Params,
    name: &str,
    destinations: usize,
    (min, max, default): (u32, u32, u32),
) -> Result<Vec<u32>, BadParam> {
    let Some(text) = params.text(name)? else {
        return Ok(vec![default; destinations]);
    };
    let values = text
        .split('<')
        .map(|v| match v.trim().parse::<u32>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(BadParam(format!(
                "{name} must be whole numbers from {min} to {max}, got {text:?}"
            ))),
        })
        .collect::<Result<Vec<u32>, BadParam>>()?;
    match values.len() {
        1 => Ok(vec![values[0]; destinations]),
        n if n == destinations => Ok(values),
        n => Err(BadParam(format!(
            "{name} gives {n} values for {destinations} destinations"
        ))),
    }
}

/// `sip_headers`: `key=value,…`, `<`-separated per destination; keys and
/// values of letters and digits only.
fn sip_headers(
    params: &Params,
    destinations: usize,
) -> Result<Vec<Vec<(String, String)>>, BadParam> {
    let Some(text) = params.text("sip_headers")? else {
        return Ok(vec![Vec::new(); destinations]);
    };
    let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric());
    let lists = text
        .split('<')
        .map(|list| {
            list.split(',')
                .filter(|pair| !pair.trim().is_empty())
                .map(|pair| match pair.trim().split_once('=') {
                    Some((k, v)) if plain(k) && plain(v) => Ok((k.to_owned(), v.to_owned())),
                    _ => Err(BadParam(format!(
                        "sip_headers must be key=value pairs of letters and digits, got {pair:?}"
                    ))),
                })
                .collect::<Result<Vec<_>, BadParam>>()
        })
        .collect::<Result<Vec<_>, BadParam>>()?;
    match lists.len() {
        1 => Ok(vec![lists[0].clone(); destinations]),
        n if n == destinations => Ok(lists),
        n => Err(BadParam(format!(
            "sip_headers gives {n} lists for {destinations} destinations"
        ))),
    }
}

/// `<name>_url` and `<name>_method` (default `method`).
fn callback(
    params: &Params,
    name: &str,
    method: Method,
) -> Result<Option<(String, Method)>, BadParam> {
    let methods = [("GET", Method::Get), ("POST", Method::Post)];
    let method = params
        .one_of(&format!("{name}_method"), &methods)?
        .unwrap_or(method);
    let url_name = format!("{name}_url");
    match params.text(&url_name)? {
        None => Ok(None),
        Some(text) => checked_url(&text)
            .map(|url| Some((url, method)))
            .map_err(|reason| BadParam(format!("{url_name} {reason}, got {text:?}"))),
    }
}

fn confirm(params: &Params) -> Result<Option<Confirm>, BadParam> {
    let Some(text) = params.text("confirm_key")? else {
        return Ok(None);
    };
    let mut chars = text.trim().chars();
    let key = match (chars.next(), chars.next()) {
        (Some(key), None) if key.is_ascii_digit() || key == '#' || key == '*' => key,
        _ => {
            return Err(BadParam(format!(
                "confirm_key must be one of 0-9, # or *, got {text:?}"
            )));
        }
    };
    let sound = callback(params, "confirm_key_sound", Method::Get)?;
    Ok(Some(Confirm { key, sound }))
}

fn dial_music(params: &Params) -> Result<DialMusic, BadParam> {
    match params.text("dial_music")? {
        None => Ok(DialMusic::Real),
        Some(text) if text.eq_ignore_ascii_case("real") => Ok(DialMusic::Real),
        Some(text) if text.eq_ignore_ascii_case("none") => Ok(DialMusic::Silence),
        Some(text) => checked_url(&text).map(DialMusic::Url).map_err(|_| {
            BadParam(format!(
                "dial_music must be real, none or an http(s) URL, got {text:?}"
            ))
        }),
    }
}

fn send_digits(params: &Params) -> Result<Option<SendDigits>, BadParam> {
    let on_preanswer = params.boolean("send_on_preanswer")?.unwrap_or(false);
    let Some(digits) = params.text("send_digits")? else {
        return Ok(None);
    };
    let valid = |c: char| c.is_ascii_digit() || "#*wW".contains(c);
    if digits.is_empty() || !digits.chars().all(valid) {
        return Err(BadParam(format!(
            "send_digits must be digits, #, * and w/W waits, got {digits:?}"
        )));
    }
    Ok(Some(SendDigits {
        digits,
        on_preanswer,
    }))
}

#[cfg(test)]
mod tests;
