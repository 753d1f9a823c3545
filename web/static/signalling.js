// @ts-check
/**
 * Proxima's signalling transport. DOM-free: a WebSocket to the server that says hello (resume=true
 * when the page still has its peer connections), pings, reconnects with backoff and knows the
 * close codes of docs/protocol.md. Every other message goes, parsed, to onmessage: the protocol
 * layer (protocol.js, ProximaClient) reads them; the page scripts never see one.
 */
'use strict';

class Signalling {
    /**
     * @param {string} url  wss://host/ws/<appointment>
     */
    constructor(url) {
        this.url = url;
        /** @type {WebSocket|null} */
        this.socket = null;
        this.closed = false;
        this.attempt = 0;
        /** Whether the next hello resumes (the page kept its peer connection). */
        this.canResume = () => false;
        /** @type {(msg: any) => void} */
        this.onmessage = () => {};
        /** @type {(state: string) => void} 'connecting' | 'open' | 'reconnecting' | 'closed' |
         *  'access_ended' (the page should reload: the server says why) */
        this.onstate = () => {};
        /** @type {number|undefined} */
        this.pingTimer = undefined;
        this.lastPong = 0;
    }

    /** The WebSocket URL of a path on this page's server (ws: or wss: as the page). @param {string} path */
    static urlFor(path) {
        return (location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + location.host + path;
    }

    connect() {
        this.closed = false;
        this.onstate(this.attempt ? 'reconnecting' : 'connecting');
        const socket = new WebSocket(this.url);
        this.socket = socket;
        socket.onopen = () => {
            this.send({type: 'hello', version: 1, resume: this.attempt > 0 && this.canResume()});
            this.lastPong = Date.now();
            this.pingTimer = window.setInterval(() => this.gotTick(), 5000);
        };
        socket.onmessage = event => {
            let msg;
            try {
                msg = JSON.parse(event.data);
            } catch (e) {
                return;
            }
            if (msg.type === 'welcome') {
                this.attempt = 0;
                this.onstate('open');
            }
            if (msg.type === 'pong') {
                this.lastPong = Date.now();
                return;
            }
            this.onmessage(msg);
        };
        socket.onclose = event => {
            window.clearInterval(this.pingTimer);
            if (this.socket !== socket)
                return;
            this.socket = null;
            // 4001: replaced or closed by the server on purpose (declined); 4400/4408: handshake.
            // 4403: the link or the account no longer gives access (revoked, cancelled...).
            if (event.code === 4403) {
                this.closed = true;
                this.onstate('access_ended');
                return;
            }
            if (this.closed || event.code === 4001 || event.code === 4400) {
                this.onstate('closed');
                return;
            }
            this.attempt += 1;
            const delay = Math.min(8000, 500 * 2 ** Math.min(this.attempt - 1, 4));
            this.onstate('reconnecting');
            window.setTimeout(() => { if (!this.closed) this.connect(); }, delay);
        };
    }

    /** Ping now and then; a server that stops answering is reconnected to. */
    gotTick() {
        if (!this.socket || this.socket.readyState !== WebSocket.OPEN)
            return;
        if (Date.now() - this.lastPong > 20000) {
            this.socket.close();
            return;
        }
        this.send({type: 'ping'});
    }

    /** @param {object} msg */
    send(msg) {
        if (this.socket && this.socket.readyState === WebSocket.OPEN) {
            this.socket.send(JSON.stringify(msg));
            return true;
        }
        return false;
    }

    close() {
        this.closed = true;
        if (this.socket) this.socket.close(1000);
    }
}

window.ProximaSignalling = Signalling;
