// @ts-check
/**
 * The live interview's UI, for the person (data-role="person") and the worker ("worker"). It
 * assigns the protocol layer's on* callbacks (ProximaClient, protocol.js) and touches the DOM;
 * it never reads or builds a wire message. Its pieces: call.js (ProximaCall: one link per other
 * participant, with ProximaPeer and ProximaQuality underneath) and, for the worker, lobby.js
 * (ProximaLobby: the waiting room); in a group session (data-group="true") also group.js
 * (ProximaGroup: hands, floor, round, break, mute requests) and, for the group's workers,
 * facilitator.js (ProximaFacilitator: their tools). Texts come from <template> elements
 * (translated on the server); nothing received is inserted as HTML.
 */
'use strict';

class InterviewPage {
    /** @param {HTMLElement} root  #interview, with data-role and data-ws */
    constructor(root) {
        this.root = root;
        this.role = root.dataset.role || '';
        this.consentHash = root.dataset.consentHash || '';
        this.client = new window.ProximaClient(new window.ProximaSignalling(
            window.ProximaSignalling.urlFor(root.dataset.ws || '')));
        /** A group session (the grid, the group's tools: group.js, facilitator.js). */
        this.group = root.dataset.group === 'true';
        this.call = new window.ProximaCall({client: this.client, role: this.role,
                                            text: (id, values) => this.text(id, values),
                                            group: this.group,
                                            upstreamKbps: Number(root.dataset.upstreamKbps) || 1200});
        /** @type {GroupView|null} */
        this.groupView = this.group ? new window.ProximaGroup({
            client: this.client, call: this.call, text: (id, values) => this.text(id, values),
            device: (kind, on) => this.device(kind, on)}) : null;
        /** @type {FacilitatorTools|null} */
        this.tools = this.group && this.role === 'worker' ? new window.ProximaFacilitator({
            client: this.client, call: this.call, text: (id, values) => this.text(id, values)}) : null;
        /** @type {Map<string, number>} a group's peers gone from signalling: when to drop them */
        this.goneTimers = new Map();
        this.waitingTimer = 0;
        /** The worker ticked the readiness checklist. */
        this.ready = false;
        this.endedShown = false;
        /** The person's page: one step per screen (steps.js), with history and reload. */
        this.steps = this.role === 'person' ? window.ProximaSteps || null : null;
        /** The person sent a consent: the next `waiting` takes them to the waiting room. */
        this.consentSent = false;
    }

    /** @param {string} id @returns {any} */
    $(id) {
        return document.getElementById(id);
    }

    /** A text from its <template>, with {placeholders} filled. */
    text(/** @type {string} */ id, /** @type {Record<string, string>} */ values = {}) {
        const t = /** @type {HTMLTemplateElement|null} */ (document.getElementById(id));
        let s = t ? (t.content.textContent || '').trim() : '';
        for (const [k, v] of Object.entries(values)) s = s.replace('{' + k + '}', v);
        return s;
    }

    /**
     * Show one step (data-step) of the page, hide the others: on the person's page through
     * steps.js (its heading focused, a history entry), on the worker's within #interview.
     * @param {string} id
     */
    show(id) {
        if (this.steps) {
            this.steps.show(id);
            return;
        }
        for (const step of Array.from(this.root.querySelectorAll('[data-step]')))
            /** @type {HTMLElement} */ (step).hidden = step.id !== id;
    }

    /** The end: shown, brought into view, its heading focused (and so announced). */
    showEnd() {
        this.show('ended-step');
        if (this.steps) return;
        const title = this.$('ended-title');
        title.tabIndex = -1;
        title.scrollIntoView({block: 'start'});
        title.focus({preventScroll: true});
    }

    start() {
        this.listen();
        this.wirePerson();
        this.wireWorker();
        this.wireCall();
        if (this.groupView) this.listenGroup(this.groupView);
        window.addEventListener('pagehide', () => { if (!this.endedShown) this.call.stop(); });
        this.client.connect();
    }

    /** What the server says, through the protocol layer. */
    listen() {
        const client = this.client, call = this.call;
        client.canResume = () => call.live();
        client.onstate = state => this.gotState(state);
        client.onwelcome = welcome => this.gotWelcome(welcome);
        client.onwaiting = waiting => this.gotWaiting(waiting);
        if (this.role === 'worker') {
            const lobby = new window.ProximaLobby({text: (id, values) => this.text(id, values),
                                                   admit: id => client.admit(id),
                                                   decline: id => client.decline(id)});
            client.onlobby = waiting => {
                lobby.render(waiting);
                if (this.tools) this.tools.gotLobby(waiting);
                else call.keep(waiting.admitted.map(a => a.id));  // a browser replaced: its link goes
            };
            client.ontestresult = result => lobby.testResult(result);
            client.onhelpalert = alert => lobby.helpAlert(alert);
        }
        client.onadmitted = admission => call.admitted(admission);
        client.onsignal = (from, signal) => call.signal(from, signal);
        client.onpeerleft = peer => call.left(peer);
        client.onmedia = media => call.media(media);
        client.onmodality = change => { if (change.mode !== 'phone') call.applyMode(change.mode); };
        client.onchat = chat => this.gotChat(chat);
        client.onphone = phone => this.gotPhone(phone);
        client.ondeclined = () => this.gotDeclined();
        client.onended = reason => this.gotEnded(reason);
        client.onerror = (code, message) => console.warn('proxima:', code, message);
        call.onstarted = () => this.show('call-step');
        call.onlost = () => {  // no signalling either: say locally whom to call
            if (this.role === 'person') {
                this.call.stop();  // the camera and microphone go with the call
                this.$('phone-who').textContent = this.text('t-lost');
            }
            else this.$('phone-reason').textContent = this.text('t-reason-lost');
            this.show('phone-step');
        };
    }

    /** A group session: its state, breaks, mute requests, reminders, and its members' coming
     *  and going (a peer gone from signalling for good: its link and tile go after a while). */
    listenGroup(/** @type {GroupView} */ group) {
        const client = this.client, call = this.call, tools = this.tools;
        group.wire();
        if (tools) tools.wire();
        client.ongroupstate = state => {
            group.gotState(state);
            if (tools) tools.gotState(state);
        };
        client.onmuterequest = by => group.gotMuteRequest(by);
        client.onbreakstarted = pause => group.gotBreak(pause);
        client.onbreakover = () => group.gotBreakOver();
        client.onreminder = reminder => { if (tools) tools.gotReminder(reminder); };
        client.onadmitted = admission => {
            window.clearTimeout(this.goneTimers.get(admission.peer));
            call.admitted(admission);
            if (tools && admission.peer.startsWith('w:'))
                tools.workerHere(admission.peer, admission.name, true);
        };
        client.onpeerleft = peer => {
            call.left(peer);
            if (tools && peer.startsWith('w:')) tools.workerHere(peer, '', false);
            window.clearTimeout(this.goneTimers.get(peer));
            this.goneTimers.set(peer, window.setTimeout(() => {
                const link = call.links.get(peer);
                if (!link || !link.session || link.session.pc.connectionState !== 'connected')
                    call.drop(peer);
            }, 30000));
        };
    }

    /**
     * Whether the microphone or camera is on; with `on`, switch it as its button does (and tell
     * the others). For group.js: a break, a mute request.
     * @param {'mic'|'cam'} kind @param {boolean} [on]
     */
    device(kind, on) {
        const button = this.$('btn-' + kind);
        const isOn = button.getAttribute('aria-pressed') !== 'true';
        if (on === undefined || on === isOn) return isOn;
        button.setAttribute('aria-pressed', String(!on));
        window.ProximaCall.name(button, this.text(on ? `t-${kind}-off` : `t-${kind}-on`));
        this.call.setTrack(kind, on);
        this.client.media(this.device('mic'), this.device('cam'));
        return on;
    }

    /** @param {string} state */
    gotState(state) {
        if (state === 'access_ended') {  // revoked, cancelled, account disabled: the page says why
            this.call.stop();
            if (this.endedShown) return;  // it says so already (removed from a group)
            location.reload();
            return;
        }
        if (state === 'reconnecting') this.checkPage();
        if (state === 'open') this.call.resumed();  // no link yet on the first opening
        const el = this.$('connection-state');
        if (el) el.textContent = state === 'open' ? this.text('t-online') :
            state === 'reconnecting' ? this.text('t-reconnecting') : '';
    }

    /** A refused reconnection looks like a network error: ask the page whether access ended. */
    async checkPage() {
        try {
            const r = await fetch(location.href, {method: 'HEAD', cache: 'no-store'});
            if (r.redirected || r.status === 403 || r.status === 404 || r.status === 410) {
                this.call.stop();
                location.reload();
            }
        } catch (e) { /* offline: keep trying to reconnect */ }
    }

    /** @param {Welcome} welcome */
    gotWelcome(welcome) {
        this.call.iceServers = welcome.iceServers;
        this.call.relayOnly = welcome.relayOnly;
        if (this.groupView) this.groupView.info = welcome.group;
        if (this.tools) {
            if (welcome.session) this.tools.setElapsed(welcome.session.elapsedSeconds);
            this.tools.workerHere(welcome.id, welcome.name, true);
        }
        if (this.group && this.role === 'worker' && (this.ready || welcome.role === 'coworker' ||
                                                     welcome.state === 'in_call')) {
            this.show('call-step');  // a group's room: the waiting list is among the tools
            this.call.openMedia('video').then(() => this.call.playAll());
        } else if (this.role === 'worker') {
            if (welcome.state === 'in_call' && welcome.session && welcome.session.mode === 'phone')
                this.show('phone-step');
            else if (this.ready || welcome.state === 'in_call')
                this.show(this.call.links.size ? 'call-step' : 'lobby-step');
            else
                this.show('checklist-step');
        } else if (welcome.state === 'consent' && this.inServerStep()) {
            this.show('consent-step');  // no standing consent any more: the person gives it again
        }
    }

    /** @param {{since: string, workerPresent: boolean}} waiting */
    gotWaiting(waiting) {
        // After a consent, or on coming back to the page (a standing consent): the waiting room.
        // A person who went back a step to read or change something stays there.
        if (this.consentSent || !this.steps || this.inServerStep() ||
            this.steps.current === 'arrival-step')
            this.show('waiting-step');
        this.consentSent = false;
        this.$('worker-status').textContent = this.text(
            waiting.workerPresent ? 't-worker-here' : 't-worker-away');
        window.clearTimeout(this.waitingTimer);
        this.waitingTimer = window.setTimeout(() => { this.$('waiting-phone').hidden = false; },
            waiting.workerPresent ? 10 * 60000 : 5 * 60000);
    }

    /** Whether the person's page shows a step the server decides (waiting, call, phone, end). */
    inServerStep() {
        return !!this.steps && ['waiting-step', 'call-step', 'phone-step', 'ended-step']
            .includes(this.steps.current);
    }

    /** @param {ChatMessage} chat */
    gotChat(chat) {
        const li = document.createElement('li');
        const who = document.createElement('strong');
        who.textContent = chat.name + ' : ';
        const body = document.createElement('span');
        body.textContent = chat.text;
        li.append(who, body);
        this.$('chat-log').append(li);
        this.$('chat-news').textContent = this.text('t-chat-new', {name: chat.name});  // said once
        if (this.$('chat-sheet').hidden) {  // closed: a count on its button
            const count = this.$('chat-count');
            count.textContent = String(Number(count.textContent || 0) + 1);
            count.hidden = false;
        }
    }

    /** The messages' sheet, opened over the video by its button and closed again. */
    wireChat() {
        const sheet = this.$('chat-sheet'), button = this.$('btn-chat');
        const open = (/** @type {boolean} */ on) => {
            sheet.hidden = !on;
            button.setAttribute('aria-expanded', String(on));
            if (on) {
                this.$('chat-count').hidden = true;
                this.$('chat-count').textContent = '';
                this.$('chat-news').textContent = '';
                this.$('chat-text').focus();
            } else {
                button.focus();
            }
        };
        button.addEventListener('click', () => open(sheet.hidden));
        this.$('btn-chat-close').addEventListener('click', () => open(false));
        sheet.addEventListener('keydown', (/** @type {KeyboardEvent} */ e) => {
            if (e.key === 'Escape') open(false);
        });
    }

    /** @param {PhoneInstructions} phone */
    gotPhone(phone) {
        this.call.stop();
        if (this.role === 'person') {
            this.$('phone-who').textContent = phone.planB === 'person_calls' ? this.text('t-you-call') :
                phone.servicePhone ?
                    this.text('t-will-call', {end: phone.personPhoneEnd, number: phone.servicePhone}) :
                    this.text('t-will-call-hidden', {end: phone.personPhoneEnd});
        } else if (phone.reason === 'connection_lost') {
            this.$('phone-reason').textContent = this.text('t-reason-lost');
        }
        this.show('phone-step');
    }

    gotDeclined() {
        this.call.stop();
        this.$('ended-text').textContent = this.text('t-declined');
        this.$('ended-call').hidden = false;  // the number it speaks of
        this.showEnd();
    }

    /** @param {string} reason */
    gotEnded(reason) {
        this.call.stop();
        this.endedShown = true;
        if (this.role === 'worker') {
            this.show('closing-step');
        } else {
            this.$('ended-text').textContent = this.text(reason === 'consent_withdrawn' ?
                't-withdrawn' : reason === 'worker_left' ? 't-worker-left' :
                    reason === 'removed' ? 't-removed' : reason === 'postponed' ? 't-postponed' : 't-ended');
            this.$('ended-call').hidden = reason !== 'worker_left' && reason !== 'postponed';
            if (reason === 'postponed') this.$('ended-title').textContent = this.text('t-postponed-title');
            this.showEnd();
        }
        this.client.close();
    }

    /** The person's forms: consent, changing it, leaving. */
    wirePerson() {
        const form = this.$('consent-form');
        if (form) {
            form.addEventListener('submit', (/** @type {Event} */ e) => {
                e.preventDefault();
                const data = new FormData(form);
                const modality = /** @type {ConsentModality} */ (String(data.get('modality') || 'video'));
                const audioFallback = data.get('audio_fallback') === 'on';
                this.call.consent = {modality, audioFallback};
                /** @type {ConsentChoice} */
                const choice = {modality, audioFallback,
                                othersPresent: data.get('others_present') === 'yes',
                                others: String(data.get('others') || ''), textHash: this.consentHash};
                if (this.group) {
                    choice.ruleAccepted = data.get('rule_accepted') === 'on';
                    choice.othersAccepted = data.get('others_accepted') === 'on';
                }
                this.consentSent = true;
                this.client.consent(choice);
            });
            this.$('btn-change-consent').addEventListener('click', () => this.show('consent-step'));
        }
        const leave = this.$('btn-leave');
        if (leave) leave.addEventListener('click', () => {
            this.call.stop();  // the camera and microphone stop at once, not on the server's answer
            this.client.withdraw(this.consentHash);
        });
    }

    /** The worker's forms: the readiness checklist, a phone interview, the end. */
    wireWorker() {
        const checklist = this.$('checklist-form');
        if (checklist) {
            checklist.addEventListener('submit', (/** @type {Event} */ e) => {
                e.preventDefault();
                const data = new FormData(checklist);
                this.client.ready({quiet: data.get('quiet') === 'on',
                                   confidential: data.get('confidential') === 'on',
                                   headset: data.get('headset') === 'on'});
                this.ready = true;
                this.show(this.group ? 'call-step' : 'lobby-step');
                if (this.group) this.call.openMedia('video').then(() => this.call.playAll());
            });
        }
        const click = (/** @type {string} */ id, /** @type {() => void} */ action) => {
            const button = this.$(id);
            if (button) button.addEventListener('click', action);
        };
        click('btn-start-phone', () => this.client.fallback('planned'));
        click('btn-end', () => this.client.end(false));
        click('btn-phone-done', () => this.client.end(true));
        click('btn-postpone-yes', () => this.client.postpone());  // the call panel (call-panel.js)
    }

    /** The call controls, both sides: microphone, camera, sound only, phone, chat. */
    wireCall() {
        for (const kind of /** @type {('mic'|'cam')[]} */ (['mic', 'cam']))
            this.$('btn-' + kind).addEventListener('click', () => this.device(kind, !this.device(kind)));
        this.$('btn-audio-only').addEventListener('click', () => this.call.askMode(
            this.call.mode === 'video' ? 'audio' : 'video', 'asked'));
        this.call.onownmode = mode => this.client.media(this.device('mic'),
                                                        mode === 'video' && this.device('cam'));
        const phone = this.$('btn-phone');
        if (phone) phone.addEventListener('click', () => this.client.fallback('asked'));
        this.wireChat();
        this.$('chat-form').addEventListener('submit', (/** @type {Event} */ e) => {
            e.preventDefault();
            const input = this.$('chat-text');
            if (input.value.trim()) this.client.chat(input.value);
            input.value = '';
        });
    }
}

(function () {
    const root = document.getElementById('interview');
    if (root) new InterviewPage(root).start();
})();
