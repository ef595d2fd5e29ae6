// Drives chorus's REST API with Plivo's own Node SDK (plivo on npm), as a
// Plivo MPC app would, with only the base URL changed.
//
//     node plivo_mpc.js BASE_URL AUTH_ID AUTH_TOKEN COMMAND [ARGS...]
//
// Commands (MPC is a friendly name): list [STATUS] | get MPC | start MPC |
// end MPC | members MPC | member MPC ID | update MPC ID|all KEY=true|false... |
// kick MPC ID|all | record-start MPC FORMAT CALLBACK_URL | record-stop MPC |
// record-pause MPC | record-resume MPC |
// participant-record-start MPC ID FORMAT CALLBACK_URL [TRACK] |
// participant-record-stop|pause|resume MPC ID [TRACK] | play MPC ID URL |
// stop-play MPC ID | add MPC ROLE FROM TO [name=value...] (the Python
// script's commands; add's names are the SDK's camelCase ones). Prints one JSON object:
// the SDK's answer, or {"exception": "Error", "message": <text>} when it
// threw.
'use strict';

const path = require('path');
const plivo = require('plivo');

const PLIVO = 'https://api.plivo.com/v1/Account/';

// The SDK writes api.plivo.com into each voice request's URL itself (it
// has no base-URL option for them), through an axios instance it creates
// per request: point every such instance at chorus instead.
function pointAt(baseUrl) {
  const axiosPath = require.resolve('axios', { paths: [path.dirname(require.resolve('plivo'))] });
  const axios = require(axiosPath);
  const root = baseUrl.replace(/\/+$/, '') + '/v1/Account/';
  const create = axios.create.bind(axios);
  axios.create = (...args) => {
    const instance = create(...args);
    instance.interceptors.request.use((config) => {
      config.url = config.url.replace(PLIVO, root);
      return config;
    });
    return instance;
  };
}

function flags(args) {
  const out = {};
  for (const arg of args) {
    const [key, value] = arg.split('=');
    out[key] = value === 'true';
  }
  return out;
}

async function run(mpc, command, args) {
  const name = { friendlyName: args[0] };
  switch (command) {
    case 'list':
      return mpc.list(args[0] ? { status: args[0] } : {});
    case 'get':
      return mpc.get(name);
    case 'start':
      return mpc.start({ ...name, status: 'active' });
    case 'end':
      return mpc.stop(name);
    case 'members':
      return mpc.listParticipants(name);
    case 'member':
      return mpc.getParticipant(args[1], name);
    case 'update':
      return mpc.updateParticipant(args[1], { ...name, ...flags(args.slice(2)) });
    case 'kick':
      return mpc.kickParticipant(args[1], name);
    case 'record-start':
      return mpc.startRecording({
        ...name,
        fileFormat: args[1],
        recordingCallbackUrl: args[2],
        recordingCallbackMethod: 'POST',
      });
    case 'record-stop':
      return mpc.stopRecording(name);
    case 'record-pause':
      return mpc.pauseRecording(name);
    case 'record-resume':
      return mpc.resumeRecording(name);
    // participant track recordings (TRACK omitted: the SDK's default, all)
    case 'participant-record-start':
      return mpc.startParticipantRecording(args[1], {
        ...name,
        fileFormat: args[2],
        recordingCallbackUrl: args[3],
        ...(args[4] ? { recordTrackType: args[4] } : {}),
      });
    case 'participant-record-stop':
    case 'participant-record-pause':
    case 'participant-record-resume': {
      const verb = command.split('-').pop();
      const change = { stop: 'stop', pause: 'pause', resume: 'resume' }[verb];
      const track = args[2] ? { recordTrackType: args[2] } : {};
      return mpc[`${change}ParticipantRecording`](args[1], { ...name, ...track });
    }
    // audio to one member
    case 'play':
      return mpc.startPlayAudio(args[1], args[2], name);
    case 'stop-play':
      return mpc.stopPlayAudio(args[1], name);
    // add participant: add MPC ROLE FROM TO [camelCaseName=value ...]
    case 'add': {
      const extra = {};
      for (const arg of args.slice(4)) {
        const [key, value] = arg.split('=');
        extra[key] = value;
      }
      return mpc.addParticipant(args[1], { ...name, from: args[2], to: args[3], ...extra });
    }
    default:
      throw new Error(`unknown command ${command}`);
  }
}

async function main() {
  const [baseUrl, authId, authToken, command, ...args] = process.argv.slice(2);
  pointAt(baseUrl);
  const client = new plivo.Client(authId, authToken);
  let answer;
  try {
    answer = await run(client.multiPartyCalls, command, args);
  } catch (error) {
    // The SDK's error classes lose their names when transpiled: the
    // message (chorus's error text) is what tells them apart.
    answer = { exception: 'Error', message: String(error.message || error) };
  }
  // Stop answers carry nothing (204): say so plainly.
  process.stdout.write(JSON.stringify(answer === undefined ? null : answer) + '\n');
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + '\n');
  process.exit(1);
});
