"""Drives chorus's REST API with Plivo's own Python SDK (plivo on PyPI), as a
Plivo MPC app would, with only the base URL changed.

    plivo_mpc.py BASE_URL AUTH_ID AUTH_TOKEN COMMAND [ARGS...]

Commands (MPC is a friendly name): list [STATUS] | get MPC | start MPC |
end MPC | members MPC | member MPC ID | update MPC ID|all KEY=true|false... |
kick MPC ID|all | record-start MPC FORMAT CALLBACK_URL | record-stop MPC |
record-pause MPC | record-resume MPC |
participant-record-start MPC ID FORMAT CALLBACK_URL [TRACK] |
participant-record-stop|pause|resume MPC ID [TRACK] | play MPC ID URL |
stop-play MPC ID | add MPC ROLE FROM TO [NAME=VALUE...] (add_participant; a
value of digits is passed as a number). Prints one JSON object: the SDK's answer, or
{"exception": <class name>, "message": <text>} when the SDK raised.
"""
import json
import sys

import plivo
import plivo.rest.client as rest_client


def client(base_url, auth_id, auth_token):
    # The SDK takes its base URL from these module constants on every request.
    root = base_url.rstrip("/") + "/v1/Account"
    for name in ("PLIVO_API_BASE_URI", "API_VOICE_BASE_URI",
                 "API_VOICE_BASE_URI_FALLBACK_1", "API_VOICE_BASE_URI_FALLBACK_2"):
        setattr(rest_client, name, root)
    return plivo.RestClient(auth_id, auth_token, timeout=5)


def plain(value):
    """The SDK's response objects as JSON-able data."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if hasattr(value, "objects"):
        return {"objects": plain(list(value.objects)), "meta": plain(getattr(value, "meta", None))}
    return {k: plain(v) for k, v in vars(value).items() if k != "client"}


def main(base_url, auth_id, auth_token, command, *args):
    mpc = client(base_url, auth_id, auth_token).multi_party_calls
    if command == "list":
        return mpc.list(status=args[0]) if args else mpc.list()
    if command == "get":
        return mpc.get(friendly_name=args[0])
    if command == "start":
        return mpc.start(friendly_name=args[0])
    if command == "end":
        return mpc.stop(friendly_name=args[0])
    if command == "members":
        return mpc.list_participants(friendly_name=args[0])
    if command == "member":
        return mpc.get_participant(args[1], friendly_name=args[0])
    if command == "update":
        flags = {k: v == "true" for k, v in (a.split("=", 1) for a in args[2:])}
        return mpc.update_participant(args[1], friendly_name=args[0], **flags)
    if command == "kick":
        return mpc.kick_participant(args[1], friendly_name=args[0])
    if command == "record-start":
        return mpc.start_recording(friendly_name=args[0], file_format=args[1],
                                   recording_callback_url=args[2])
    if command == "record-stop":
        return mpc.stop_recording(friendly_name=args[0])
    if command == "record-pause":
        return mpc.pause_recording(friendly_name=args[0])
    if command == "record-resume":
        return mpc.resume_recording(friendly_name=args[0])
    # audio to one member
    if command == "play":
        return mpc.start_play_audio(args[1], friendly_name=args[0], url=args[2])
    if command == "stop-play":
        return mpc.stop_play_audio(args[1], friendly_name=args[0])
    # participant track recordings (TRACK omitted: the SDK's default, all)
    if command == "participant-record-start":
        track = {"record_track_type": args[4]} if len(args) > 4 else {}
        return mpc.start_participant_recording(args[1], friendly_name=args[0], file_format=args[2],
                                               recording_callback_url=args[3], **track)
    if command in ("participant-record-stop", "participant-record-pause",
                   "participant-record-resume"):
        verb = command.rsplit("-", 1)[1]
        track = {"record_track_type": args[2]} if len(args) > 2 else {}
        change = getattr(mpc, f"{verb}_participant_recording")
        return change(args[1], friendly_name=args[0], **track)
    # add MPC ROLE FROM TO [name=value ...]: Add Participant by dialling
    if command == "add":
        extra = {k: int(v) if v.isdigit() else v
                 for k, v in (a.split("=", 1) for a in args[4:])}
        return mpc.add_participant(args[1], friendly_name=args[0], from_=args[2], to_=args[3],
                                   **extra)
    raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    try:
        result = plain(main(*sys.argv[1:]))
    except plivo.exceptions.PlivoRestError as error:
        result = {"exception": type(error).__name__, "message": str(error)}
    print(json.dumps(result))
