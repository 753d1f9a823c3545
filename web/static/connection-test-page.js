// @ts-check
/** The connection test on the person's page: wires ProximaConnectionTest to the page. */
'use strict';

document.addEventListener('DOMContentLoaded', () => {
    const section = document.getElementById('connection-test');
    if (!section) return;
    const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
    const text = (/** @type {string} */ id) => {
        const t = /** @type {HTMLTemplateElement|null} */ (document.getElementById(id));
        return t ? (t.content.textContent || '').trim() : '';
    };
    /** @type {any} */ let run = null;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = scheme + '//' + location.host + section.dataset.ws;

    $('start-test').addEventListener('click', () => {
        if (run) run.stop();
        run = new window.ProximaConnectionTest(url);
        $('test-progress').value = 0;
        $('test-progress').hidden = false;
        $('test-result').textContent = text('tt-running');
        $('start-test').disabled = true;
        run.onprogress = (/** @type {number} */ f) => { $('test-progress').value = f; };
        run.onstream = (/** @type {MediaStream} */ s) => { $('test-echo').srcObject = s; $('test-echo').hidden = false; };
        run.onresult = (/** @type {any} */ r) => {
            $('test-progress').value = 1;
            $('test-result').textContent = text('tt-' + r.recommendation);
            $('test-result').dataset.recommendation = r.recommendation;
            $('test-result').dataset.path = r.figures.path;
            $('test-figures').textContent = text('tt-figures')
                .replace('{rtt}', String(r.figures.rtt_ms)).replace('{up}', String(r.figures.up_kbps))
                .replace('{down}', String(r.figures.down_kbps))
                .replace('{loss}', String(Math.round((r.figures.loss || 0) * 1000) / 10));
            $('start-test').disabled = false;
            $('start-test').textContent = text('tt-again');
        };
        run.onerror = (/** @type {string} */ code) => {
            if (code === 'access_ended') {  // the link no longer works: the page says why
                location.reload();
                return;
            }
            $('test-result').textContent = text(code === 'busy' ? 'tt-busy' : code === 'no_devices' ? 'tt-no-devices' : 'tt-failed');
            $('start-test').disabled = false;
        };
        run.onhelp = (/** @type {any} */ alert) => {
            $('help-status').textContent = text(alert.worker_present ? 'tt-help-sent' : 'tt-help-call');
        };
        run.start();
    });
    $('test-help').addEventListener('click', () => {
        if (run) run.help();
        else $('help-status').textContent = text('tt-help-call');
    });
    window.addEventListener('pagehide', () => { if (run) run.stop(); });
});
