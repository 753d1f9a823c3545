// What each script of web/static/ puts on window. The scripts are plain <script defer> files
// (no modules, no build step), so their top-level classes and functions share one global scope,
// which tsc sees too: `typeof Signalling` below is the class declared in signalling.js.

interface Window {
    /** signalling.js: the WebSocket transport (reconnects, ping, close codes). */
    ProximaSignalling: typeof Signalling;
    /** protocol.js: the protocol layer (wire messages in, typed on* callbacks out). */
    ProximaClient: typeof ProximaClient;
    /** call.js: the call on the live page, one link per other participant. */
    ProximaCall: typeof CallView;
    /** lobby.js: the worker's waiting room on the live page. */
    ProximaLobby: typeof LobbyView;
    /** call-panel.js: the worker's call panel (timer, outline, notes, postpone) in a 1:1 call. */
    ProximaCallPanel: typeof CallPanel;
    /** group.js: what every page in a group's call shows (hands, floor, round, break). */
    ProximaGroup: typeof GroupView;
    /** facilitator.js: the facilitator's tools in a group session's room. */
    ProximaFacilitator: typeof FacilitatorTools;
    /** grid.js: the group call's tiles, one per participant. */
    ProximaGrid: typeof GridView;
    /** speaker.js: the active speaker, from the audio levels of getStats. */
    ProximaSpeaker: typeof ActiveSpeaker;
    /** peer.js: one browser-to-browser link with perfect negotiation. */
    ProximaPeer: typeof PeerSession;
    /** quality.js: a link's quality from getStats, and whether media arrives at all. */
    ProximaQuality: typeof QualityMonitor;
    /** connection-test.js: the connection test against the server's echo peer. */
    ProximaConnectionTest: typeof ConnectionTestRun;
    /** api.js: the JSON API client. */
    ProximaApi: {call: typeof apiCall, fillTemplate: typeof fillTemplate};
    /** steps.js: the person's page, one step per screen (absent on the workers' pages). */
    ProximaSteps: PersonSteps | undefined;
    /** devices.js: camera, microphone and speaker checks. */
    ProximaDevices: {openDevices: typeof openDevices, watchLevel: typeof watchLevel,
                     playTestTone: typeof playTestTone};
}
