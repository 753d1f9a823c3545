// @ts-check
/**
 * The connection test, DOM-free: send the camera and microphone to the server's test peer, get
 * them back, measure from this end (round trip, bitrates up and down, loss, jitter, frame rate,
 * resolution, path) and report; the server adds its own measurements and the recommendation.
 * It speaks through the protocol layer (ProximaClient) on its own socket (?purpose=test).
 */
'use strict';

const TEST_WARMUP_S = 3;
const TEST_MEASURE_S = 12;

class ConnectionTestRun {
    /** @param {string} url  the signalling URL with purpose=test */
    constructor(url) {
        this.client = new window.ProximaClient(new window.ProximaSignalling(url));
        /** @type {RTCPeerConnection|null} */
        this.pc = null;
        /** @type {MediaStream|null} */
        this.stream = null;
        /** @type {(fraction: number) => void} */
        this.onprogress = () => {};
        /** @type {(stream: MediaStream) => void} */
        this.onstream = () => {};
        /** @type {(result: TestResult) => void} */
        this.onresult = () => {};
        /** @type {(code: string) => void} */
        this.onerror = () => {};
        /** @type {(alert: HelpAlert) => void} */
        this.onhelp = () => {};
        const client = this.client;
        client.onwelcome = welcome => {
            if (!this.pc) this.offer(welcome.iceServers, welcome.relayOnly);
        };
        client.ontestanswer = async answer => {
            if (!this.pc) return;
            await this.pc.setRemoteDescription(answer);
            this.measure();
        };
        client.ontestresult = result => {
            this.stop();
            this.onresult(result);
        };
        client.onhelpalert = alert => this.onhelp(alert);
        client.onerror = code => {
            this.stop();
            this.onerror(code);
        };
        client.onstate = state => {
            if (state === 'access_ended') {
                this.stop();
                this.onerror('access_ended');
            }
        };
    }

    start() {
        this.client.connect();
    }

    help() {
        this.client.help();
    }

    async offer(/** @type {RTCIceServer[]} */ iceServers, /** @type {boolean} */ relayOnly) {
        try {
            this.stream = await navigator.mediaDevices.getUserMedia({
                audio: true, video: {width: {ideal: 320}, height: {ideal: 240}, frameRate: {ideal: 15}}});
        } catch (e) {
            this.onerror('no_devices');
            return;
        }
        const pc = new RTCPeerConnection({iceServers, iceTransportPolicy: relayOnly ? 'relay' : 'all'});
        this.pc = pc;
        for (const track of this.stream.getTracks()) pc.addTrack(track, this.stream);
        pc.ontrack = ({streams, track}) => this.onstream(streams[0] || new MediaStream([track]));
        pc.onicecandidate = ({candidate}) => {
            if (candidate) this.client.testCandidate(candidate.toJSON());
        };
        await pc.setLocalDescription();
        this.client.testOffer(pc.localDescription ? pc.localDescription.sdp : '');
    }

    /** Sample getStats once a second; report the figures after the measuring window. */
    async measure() {
        /** @type {any[]} */
        const samples = [];
        const total = TEST_WARMUP_S + TEST_MEASURE_S;
        for (let second = 1; second <= total; second++) {
            await new Promise(resolve => setTimeout(resolve, 1000));
            if (!this.pc) return;
            this.onprogress(second / (total + 1));
            if (second >= TEST_WARMUP_S) samples.push(await ConnectionTestRun.sample(this.pc));
        }
        this.client.testDone(ConnectionTestRun.figures(samples));
    }

    /** One reading of the counters that matter. */
    static async sample(/** @type {RTCPeerConnection} */ pc) {
        const stats = await pc.getStats();
        /** @type {any} */
        const s = {time: performance.now(), up: {audio: 0, video: 0}, down: {audio: 0, video: 0},
                   received: 0, lost: 0, jitter: 0, fps: 0, width: 0, height: 0, rtt: null,
                   path: 'unknown'};
        /** @type {any} */ let pair = null;
        stats.forEach(r => {
            if (r.type === 'outbound-rtp' && r.kind in s.up) s.up[r.kind] += r.bytesSent || 0;
            if (r.type === 'inbound-rtp' && r.kind in s.down) {
                s.down[r.kind] += r.bytesReceived || 0;
                s.received += r.packetsReceived || 0;
                s.lost += Math.max(0, r.packetsLost || 0);
                s.jitter = Math.max(s.jitter, r.jitter || 0);
                if (r.kind === 'video') {
                    s.fps = r.framesPerSecond || s.fps;
                    s.width = r.frameWidth || s.width;
                    s.height = r.frameHeight || s.height;
                }
            }
            if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId);
        });
        if (!pair) stats.forEach(r => { if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') pair = r; });
        if (pair) {
            s.rtt = pair.currentRoundTripTime;
            const local = stats.get(pair.localCandidateId);
            if (local) s.path = local.candidateType === 'relay' ?
                'turn-' + (local.relayProtocol || 'udp') : 'direct';
        }
        return s;
    }

    /**
     * Figures over the window: kbit/s each way and kind, loss, jitter, video received.
     * @param {any[]} samples
     * @returns {TestFigures}
     */
    static figures(samples) {
        const first = samples[0], last = samples[samples.length - 1];
        const seconds = Math.max(0.001, (last.time - first.time) / 1000);
        const kbps = (/** @type {number} */ a, /** @type {number} */ b) =>
            Math.round((b - a) * 8 / 1000 / seconds * 10) / 10;
        const received = last.received - first.received, lost = last.lost - first.lost;
        const rtts = samples.map(s => s.rtt).filter(v => typeof v === 'number');
        return {
            rttMs: rtts.length ? Math.round(1000 * rtts.reduce((a, b) => a + b, 0) / rtts.length) : null,
            audioUpKbps: kbps(first.up.audio, last.up.audio),
            videoUpKbps: kbps(first.up.video, last.up.video),
            audioDownKbps: kbps(first.down.audio, last.down.audio),
            videoDownKbps: kbps(first.down.video, last.down.video),
            upKbps: kbps(first.up.audio + first.up.video, last.up.audio + last.up.video),
            downKbps: kbps(first.down.audio + first.down.video, last.down.audio + last.down.video),
            loss: received + lost > 0 ? Math.round(lost / (received + lost) * 10000) / 10000 : null,
            jitterMs: Math.round(last.jitter * 1000 * 10) / 10,
            fps: last.fps, width: last.width, height: last.height, path: last.path,
        };
    }

    stop() {
        if (this.pc) this.pc.close();
        this.pc = null;
        if (this.stream) for (const t of this.stream.getTracks()) t.stop();
        this.stream = null;
        this.client.close();
    }
}

window.ProximaConnectionTest = ConnectionTestRun;
