// @ts-check
/**
 * The worker's waiting room on the live page: who waits (with a button to let each one in or
 * decline them), connection tests as they arrive, help alerts, and a short sound when someone
 * new waits. A UI piece of interview.js, which gives it the protocol layer's typed values; the
 * waiting list is shown in the lobby step and, while a call goes on, at the top of the call panel
 * (#call-lobby: the panel shows it only during the call), so that a browser that starts waiting
 * then (the person's phone after their laptop failed) is seen at once and let in.
 */
'use strict';

class LobbyView {
    /**
     * @param {{text: (id: string, values?: Record<string, string>) => string,
     *          admit: (id: string) => void, decline: (id: string) => void}} options
     */
    constructor(options) {
        this.text = options.text;
        this.admit = options.admit;
        this.decline = options.decline;
        /** @type {Set<string>} */
        this.seen = new Set();
    }

    /** @param {string} id */
    el(id) {
        return /** @type {HTMLElement} */ (document.getElementById(id));
    }

    /**
     * A browser or device name as the server sends it (a catalog id, or "browser, device" in
     * test results and help alerts), in the page's language (the #device-names template).
     * @param {string} name
     */
    deviceName(name) {
        const names = /** @type {HTMLTemplateElement|null} */ (document.getElementById('device-names'));
        return String(name || '').split(', ').map(part => {
            const found = names && Array.from(names.content.querySelectorAll('[data-name]'))
                .find(el => /** @type {HTMLElement} */ (el).dataset.name === part);
            return found ? (found.textContent || part) : part;
        }).join(', ');
    }

    /** @param {Lobby} lobby */
    render(lobby) {
        this.el('lobby-list').replaceChildren(...lobby.waiting.map(w => this.row(w)));
        this.el('lobby-empty').hidden = lobby.waiting.length > 0;
        const inCall = document.getElementById('call-lobby-list');
        if (inCall) {
            inCall.replaceChildren(...lobby.waiting.map(w => this.row(w)));
            this.el('call-lobby').hidden = lobby.waiting.length === 0;
        }
        const someoneNew = lobby.waiting.some(w => !this.seen.has(w.id));
        this.seen = new Set(lobby.waiting.map(w => w.id));
        if (someoneNew) {
            this.alert(this.text('t-someone-waiting'));
            // In the call, the panel scrolls to them (the focus stays where the worker types).
            const box = document.getElementById('call-lobby');
            if (box && box.offsetParent !== null) box.scrollIntoView({block: 'nearest'});
        }
    }

    /** @param {WaitingEntry} w */
    row(w) {
        const template = /** @type {HTMLTemplateElement} */ (document.getElementById('waiting-row'));
        const li = /** @type {HTMLElement} */ (
            /** @type {DocumentFragment} */ (template.content.cloneNode(true)).firstElementChild);
        const part = (/** @type {string} */ selector) => /** @type {HTMLElement} */ (li.querySelector(selector));
        const text = this.text;
        const device = this.deviceName(w.browser) + ', ' + this.deviceName(w.device);
        part('.who').textContent = w.name + ' (' + device + ')';
        const c = w.consent;
        part('.consent').textContent = [
            text('t-consent-' + c.modality),
            c.othersPresent ? text('t-others', {others: c.others || '?'}) : text('t-alone'),
            text('t-since', {time: new Date(w.since).toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'})}),
            w.test ? text('t-rec-' + w.test) : '',
        ].filter(Boolean).join(' · ');
        part('.admit').textContent = text('t-admit', {device});
        part('.admit').addEventListener('click', () => this.admit(w.id));
        part('.decline').textContent = text('t-decline', {device});
        part('.decline').addEventListener('click', () => this.decline(w.id));
        return li;
    }

    /** A connection test's result, as it arrives. @param {TestResult} result */
    testResult(result) {
        const f = result.figures;
        const li = document.createElement('li');
        li.textContent = this.text('t-test', {device: this.deviceName(result.device),
            advice: this.text('t-rec-' + result.recommendation),
            rtt: String(f.rttMs), up: String(f.upKbps), down: String(f.downKbps),
            loss: String(Math.round((f.loss || 0) * 1000) / 10),
            path: this.text('t-path-' + f.path) || this.text('t-path-unknown')});
        li.dataset.recommendation = result.recommendation;
        this.el('test-list').append(li);
    }

    /** @param {HelpAlert} alert */
    helpAlert(alert) {
        this.alert(this.text('t-help', {name: alert.name, device: this.deviceName(alert.device)}));
    }

    /** A notice (in the lobby and in the call), and a knock. @param {string} message */
    alert(message) {
        for (const id of ['lobby-alert', 'call-lobby-alert']) {
            const box = document.getElementById(id);
            if (!box) continue;
            box.textContent = message;
            box.hidden = false;
        }
        LobbyView.chime();
    }

    /** A knock: a short sound when someone starts waiting or asks for help. */
    static chime() {
        try {
            const ctx = new AudioContext();
            const osc = ctx.createOscillator();
            const gain = ctx.createGain();
            gain.gain.value = 0.15;
            osc.frequency.value = 880;
            osc.connect(gain).connect(ctx.destination);
            osc.start();
            osc.stop(ctx.currentTime + 0.3);
            window.setTimeout(() => ctx.close(), 600);
        } catch (e) { /* no sound available: the visible notice remains */ }
    }
}

window.ProximaLobby = LobbyView;
