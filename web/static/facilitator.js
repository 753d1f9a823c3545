// @ts-check
/**
 * The facilitator's tools in a group session's room (live/_facilitator.html): "Let everyone in",
 * the attendance sheet filled as people arrive and leave (with "by phone", mute and remove), the
 * raised hands in order with "Give the floor" and "Lower", the agenda with the item in progress
 * and the time elapsed, the reminders, the sound-and-camera round and the break. A UI piece of
 * interview.js (the waiting list itself is lobby.js's); it calls the protocol layer's methods and
 * is given its typed values, never a wire message.
 */
'use strict';

/**
 * A row of the attendance sheet: a worker of the group or a person, and when they came and went.
 * @typedef {object} SheetRow
 * @property {HTMLElement} tr
 * @property {string} name
 * @property {number} appointment  a person's own appointment (0 for a worker)
 * @property {string} worker  a worker's participant id ('' for a person)
 * @property {string[]} browsers  a person's browsers in the call
 * @property {boolean} here
 */

class FacilitatorTools {
    /**
     * @param {{client: ProximaClient, call: CallView,
     *          text: (id: string, values?: Record<string, string>) => string}} options
     */
    constructor(options) {
        this.client = options.client;
        this.call = options.call;
        this.text = options.text;
        /** @type {Map<string, SheetRow>} by name (a person) or participant id (a worker) */
        this.rows = new Map();
        /** The session's start, as performance.now() would have read it. */
        this.startedAt = 0;
        this.elapsedTimer = 0;
        /** @type {GroupState|null} */
        this.state = null;
    }

    /** @param {string} id @returns {any} */
    $(id) {
        return document.getElementById(id);
    }

    /** The time now, as hours:minutes (the attendance sheet's arrivals and departures). */
    static now() {
        return new Date().toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'});
    }

    wire() {
        const click = (/** @type {string} */ id, /** @type {() => void} */ action) => {
            const button = this.$(id);
            if (button) button.addEventListener('click', action);
        };
        click('btn-admit-all', () => this.client.admitAll());
        click('btn-mute-all', () => this.client.muteAll());
        click('btn-lower-all', () => this.client.lowerAllHands());
        click('btn-floor-back', () => this.client.giveFloor(''));
        click('btn-round-start', () => this.client.startRound());
        click('btn-round-next', () => this.client.nextInRound());
        click('btn-round-end', () => this.client.endRound());
        click('btn-break-end', () => this.client.endBreak());
        for (const button of Array.from(document.querySelectorAll('.agenda-start')))
            button.addEventListener('click', () =>
                this.client.setAgendaItem(Number(/** @type {HTMLElement} */ (button).dataset.item)));
        const form = this.$('break-form');
        if (form) form.addEventListener('submit', (/** @type {Event} */ e) => {
            e.preventDefault();
            this.client.startBreak(Number(this.$('break-minutes').value) || 10);
        });
        this.elapsedTimer = window.setInterval(() => this.tickElapsed(), 1000);
    }

    /** The session's time so far, from the server's count. @param {number} seconds */
    setElapsed(seconds) {
        this.startedAt = performance.now() - seconds * 1000;
        this.tickElapsed();
    }

    tickElapsed() {
        if (!this.startedAt) return;
        const s = Math.floor((performance.now() - this.startedAt) / 1000);
        const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
        this.$('elapsed').textContent = (h ? h + ':' + String(m).padStart(2, '0') : String(m)) +
            ':' + String(s % 60).padStart(2, '0');
        this.showAgenda();
    }

    // -- the attendance sheet -------------------------------------------------------------------

    /** A row of the sheet, made on first sight. @param {string} key @param {string} name @param {string} role */
    row(key, name, role) {
        const found = this.rows.get(key);
        if (found) return found;
        const template = /** @type {HTMLTemplateElement} */ (document.getElementById('attendance-row'));
        const tr = /** @type {HTMLElement} */ (
            /** @type {DocumentFragment} */ (template.content.cloneNode(true)).firstElementChild);
        /** @type {SheetRow} */
        const row = {tr, name, appointment: 0, worker: '', browsers: [], here: false};
        const part = (/** @type {string} */ s) => /** @type {HTMLElement} */ (tr.querySelector(s));
        part('.who').textContent = name;
        part('.role').textContent = this.text('t-role-' + role);
        const phone = /** @type {HTMLInputElement} */ (part('.by-phone'));
        phone.setAttribute('aria-label', this.text('t-by-phone', {name}));
        phone.addEventListener('change', () => this.markByPhone(row, phone.checked));
        // The buttons' names start with the person's ("Fatou Diallo : demander de couper le micro").
        for (const span of Array.from(tr.querySelectorAll('.name')))
            span.textContent = this.text('t-name-prefix', {name}) + ' ';
        part('.mute').addEventListener('click', () => { for (const b of row.browsers) this.client.mute(b); });
        const remove = tr.querySelector('.remove');
        if (remove) {
            remove.addEventListener('click', () => {
                if (row.browsers.length && window.confirm(this.text('t-remove-confirm', {name})))
                    this.client.remove(row.browsers[0]);
            });
        }
        if (role !== 'person') phone.disabled = true;
        this.$('attendance-rows').append(tr);
        this.rows.set(key, row);
        this.showButtons(row);
        return row;
    }

    /** "By phone": a person with a browser in the session, else by their appointment. */
    markByPhone(/** @type {SheetRow} */ row, /** @type {boolean} */ on) {
        this.client.markByPhone(row.browsers.length ? {participant: row.browsers[0]} :
            {appointment: row.appointment}, on);
    }

    /** Arrived or left: the first arrival and the last departure are kept. */
    presence(/** @type {SheetRow} */ row, /** @type {boolean} */ here) {
        if (here === row.here) return;
        row.here = here;
        const part = (/** @type {string} */ s) => /** @type {HTMLElement} */ (row.tr.querySelector(s));
        if (here && !part('.arrival').textContent) part('.arrival').textContent = FacilitatorTools.now();
        part('.departure').textContent = here ? '' : FacilitatorTools.now();
        row.tr.dataset.here = String(here);
        this.showButtons(row);
    }

    showButtons(/** @type {SheetRow} */ row) {
        for (const b of Array.from(row.tr.querySelectorAll('.mute, .remove')))
            /** @type {HTMLElement} */ (b).hidden = !row.browsers.length || !row.here;
    }

    /** The waiting list changed: who is in the call, who attends by phone. @param {Lobby} lobby */
    gotLobby(lobby) {
        this.$('btn-admit-all').hidden = lobby.waiting.length < 2;
        if (!lobby.waiting.length) this.$('lobby-alert').hidden = true;  // nobody waits any more
        for (const p of lobby.people) {
            const row = this.row(p.name, p.name, 'person');
            row.appointment = p.appointment;
            /** @type {HTMLInputElement} */ (row.tr.querySelector('.by-phone')).checked = p.byPhone;
        }
        for (const row of this.rows.values()) {
            if (row.worker) continue;
            const mine = lobby.admitted.filter(a => a.name === row.name);
            row.browsers = mine.filter(a => a.connected).map(a => a.id);
            this.presence(row, row.browsers.length > 0);
        }
    }

    /** A worker's role in the group (the page lists them: #group-roles). @param {string} id */
    static roleOf(id) {
        const roles = /** @type {HTMLTemplateElement|null} */ (document.getElementById('group-roles'));
        const found = roles && Array.from(roles.content.querySelectorAll('[data-id]'))
            .find(el => /** @type {HTMLElement} */ (el).dataset.id === id);
        return found ? /** @type {HTMLElement} */ (found).dataset.role || 'co_worker' : 'co_worker';
    }

    /** A worker of the group in the call (this page's own, or a co-worker's link). */
    workerHere(/** @type {string} */ id, /** @type {string} */ name, /** @type {boolean} */ here) {
        if (!here && !this.rows.has(id)) return;
        const row = this.row(id, name, FacilitatorTools.roleOf(id));
        row.worker = id;
        this.presence(row, here);
    }

    // -- hands, the floor, the agenda, the round ------------------------------------------------

    /** @param {GroupState} s */
    gotState(s) {
        this.state = s;
        this.setElapsed(s.elapsedSeconds);
        const hands = s.hands.map(h => this.handRow(h));
        this.$('hands-list').replaceChildren(...hands);
        this.$('hands-empty').hidden = hands.length > 0;
        const lowerAll = this.$('btn-lower-all');
        if (lowerAll) lowerAll.hidden = hands.length < 2;
        this.$('floor-now').textContent = s.floor ? this.text('t-floor-other', {name: s.floor.name}) : '';
        const back = this.$('btn-floor-back');
        if (back) back.hidden = !s.floor;
        this.showAgenda();
        this.showRound(s.round);
    }

    /** @param {{id: string, name: string}} hand */
    handRow(hand) {
        const template = /** @type {HTMLTemplateElement} */ (document.getElementById('hand-row'));
        const li = /** @type {HTMLElement} */ (
            /** @type {DocumentFragment} */ (template.content.cloneNode(true)).firstElementChild);
        /** @type {HTMLElement} */ (li.querySelector('.who')).textContent = hand.name;
        const give = li.querySelector('.give'), lower = li.querySelector('.lower');
        if (give) {
            give.textContent = this.text('t-give', {name: hand.name});
            give.addEventListener('click', () => this.client.giveFloor(hand.id));
        }
        if (lower) {
            lower.textContent = this.text('t-lower', {name: hand.name});
            lower.addEventListener('click', () => this.client.lowerHand(hand.id));
        }
        return li;
    }

    /** The item in progress (marked in the list) and for how long. */
    showAgenda() {
        const s = this.state;
        const item = s ? s.agendaItem : -1;
        const items = Array.from(document.querySelectorAll('#agenda-list li'));
        items.forEach((li, i) => {
            if (i === item) li.setAttribute('aria-current', 'step');
            else li.removeAttribute('aria-current');
        });
        const now = this.$('agenda-now');
        if (!s || item < 0 || !items[item]) {
            now.textContent = this.text('t-agenda-none');
            return;
        }
        const li = items[item];
        const since = s.agendaSince ? Date.parse(s.agendaSince) : Date.now();
        now.textContent = this.text('t-agenda-item', {
            item: /** @type {HTMLElement} */ (li.querySelector('.item-title')).textContent || '',
            minutes: String(Math.max(0, Math.floor((Date.now() - since) / 60000))),
            planned: /** @type {HTMLElement} */ (li).dataset.minutes || ''});
    }

    /**
     * The round: whose turn, and each answer so far.
     * @param {{current: string, entries: RoundEntry[]}|null} round
     */
    showRound(round) {
        const start = this.$('btn-round-start');
        if (!start) return;
        start.hidden = round !== null;
        this.$('btn-round-next').hidden = round === null;
        this.$('btn-round-end').hidden = round === null;
        if (!round) {
            this.$('round-now').textContent = '';
            return;
        }
        const current = round.entries.find(e => e.id === round.current);
        const answers = round.entries.filter(e => e.status !== 'waiting').map(e => this.text(
            e.status === 'ok' ? 't-round-answer-ok' : !e.hears ? 't-round-answer-sound' :
                't-round-answer-video', {name: e.name}));
        this.$('round-now').textContent = [current ? this.text('t-round-now', {name: current.name}) : '',
                                           ...answers].filter(Boolean).join(' ');
    }

    /** A reminder: a visible notice, and a knock. @param {Reminder} r */
    gotReminder(r) {
        const li = document.createElement('li');
        li.className = 'notice';
        li.dataset.kind = r.kind;
        li.textContent = this.text('t-reminder-' + r.kind, {minutes: String(r.minutes)});
        this.$('reminders').prepend(li);
        window.ProximaLobby.chime();
    }

    stop() {
        window.clearInterval(this.elapsedTimer);
    }
}

window.ProximaFacilitator = FacilitatorTools;
