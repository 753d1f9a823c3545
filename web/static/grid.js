// @ts-check
/**
 * The group call's grid: one tile per participant (this page's own camera first), each labelled
 * with the name, with a line for what happens to them (microphone off, hand raised, has the
 * floor) and the active speaker highlighted. Up to 6 tiles fit a 360 px screen (two columns,
 * proxima.css). A UI piece of call.js; it knows nothing of the wire.
 */
'use strict';

class GridView {
    constructor() {
        this.grid = /** @type {HTMLElement} */ (document.getElementById('grid'));
        /** @type {Map<string, HTMLElement>} peer id ('self' for this page) → its tile */
        this.tiles = new Map();
        const own = /** @type {HTMLElement|null} */ (this.grid.querySelector('[data-peer=self]'));
        if (own) this.tiles.set('self', own);
    }

    /** A participant's tile (made on their first link), with its video and status line. */
    add(/** @type {string} */ peer, /** @type {string} */ name) {
        let tile = this.tiles.get(peer);
        if (!tile) {
            const template = /** @type {HTMLTemplateElement} */ (document.getElementById('grid-tile'));
            tile = /** @type {HTMLElement} */ (
                /** @type {DocumentFragment} */ (template.content.cloneNode(true)).firstElementChild);
            tile.dataset.peer = peer;
            this.grid.append(tile);
            this.tiles.set(peer, tile);
        }
        /** @type {HTMLElement} */ (tile.querySelector('.name')).textContent = name;
        const video = /** @type {HTMLVideoElement} */ (tile.querySelector('video'));
        video.setAttribute('aria-label', name);
        this.grid.dataset.count = String(this.tiles.size);
        return {video, status: /** @type {HTMLElement} */ (tile.querySelector('.tile-status'))};
    }

    /** A participant left the call for good (removed, or withdrew): their tile goes. */
    remove(/** @type {string} */ peer) {
        const tile = this.tiles.get(peer);
        if (!tile || peer === 'self') return;
        tile.remove();
        this.tiles.delete(peer);
        this.grid.dataset.count = String(this.tiles.size);
    }

    /** Every tile but this page's own goes (the call stopped). */
    clear() {
        for (const peer of Array.from(this.tiles.keys())) this.remove(peer);
    }

    /** The active speaker's tile highlighted ('' for nobody). @param {string} who */
    speaking(who) {
        for (const [peer, tile] of this.tiles) tile.classList.toggle('speaking', peer === who);
    }

    /**
     * A mark on a tile (a raised hand with its place, the floor), or none: shown under the name.
     * @param {string} peer @param {string} kind 'hand' | 'floor' @param {string} text '' removes it
     */
    mark(peer, kind, text) {
        const tile = this.tiles.get(peer);
        if (!tile) return;
        let badge = /** @type {HTMLElement|null} */ (tile.querySelector(`[data-mark=${kind}]`));
        if (!text) {
            if (badge) badge.remove();
            return;
        }
        if (!badge) {
            badge = document.createElement('span');
            badge.className = 'mark';
            badge.dataset.mark = kind;
            /** @type {HTMLElement} */ (tile.querySelector('figcaption')).append(badge);
        }
        badge.textContent = text;
    }

    /** Every mark of this kind removed (the queue is redrawn whole). @param {string} kind */
    clearMarks(kind) {
        for (const peer of this.tiles.keys()) this.mark(peer, kind, '');
    }
}

window.ProximaGrid = GridView;
