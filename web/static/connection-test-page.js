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
    /** @type {ConnectionTestRun|null} */ let run = null;
    const url = window.ProximaSignalling.urlFor(section.dataset.ws || '');

    $('start-test').addEventListener('click', () => {
        if (run) run.stop();
        const test = new window.ProximaConnectionTest(url);
        run = test;
        $('test-progress').value = 0;
        $('test-progress').hidden = false;
        $('test-result').textContent = text('tt-running');
        $('start-test').disabled = true;
        test.onprogress = f => { $('test-progress').value = f; };
        test.onstream = s => { $('test-echo').srcObject = s; $('test-echo').hidden = false; };
        test.onresult = r => {
            $('test-progress').value = 1;
            $('test-result').textContent = text('tt-' + r.recommendation);
            $('test-result').dataset.recommendation = r.recommendation;
            $('test-result').dataset.path = r.figures.path;
            $('test-figures').textContent = text('tt-figures')
                .replace('{rtt}', String(r.figures.rttMs)).replace('{up}', String(r.figures.upKbps))
                .replace('{down}', String(r.figures.downKbps))
                .replace('{loss}', String(Math.round((r.figures.loss || 0) * 1000) / 10));
            $('start-test').disabled = false;
            $('start-test').textContent = text('tt-again');
        };
        test.onerror = code => {
            if (code === 'access_ended') {  // the link no longer works: the page says why
                location.reload();
                return;
            }
            $('test-result').textContent = text(code === 'busy' ? 'tt-busy' : code === 'no_devices' ? 'tt-no-devices' : 'tt-failed');
            $('start-test').disabled = false;
        };
        test.onhelp = alert => {
            $('help-status').textContent = text(alert.workerPresent ? 'tt-help-sent' : 'tt-help-call');
        };
        test.start();
    });
    $('test-help').addEventListener('click', () => {
        if (run) run.help();
        else $('help-status').textContent = text('tt-help-call');
    });
    window.addEventListener('pagehide', () => { if (run) run.stop(); });
});
