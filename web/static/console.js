// @ts-check
/**
 * The console's UI layer: forms marked data-api are sent to the JSON API by ProximaApi, errors are
 * shown in the form's role=alert element, copy buttons copy a field. No inline script (CSP).
 */
'use strict';

/**
 * The value of one input: a checkbox is a boolean, data-type="int" a number (null when empty).
 * @param {HTMLInputElement} input
 * @returns {string|number|boolean|null}
 */
function itemValue(input) {
    if (input.type === 'checkbox') return input.checked;
    if (input.dataset.type === 'int') return input.value === '' ? null : parseInt(input.value, 10);
    return input.value;
}

/**
 * One row of a data-list fieldset as an object, or null when the row is left out: a row with a
 * data-pick checkbox counts when it is ticked; any other row when one of its text or number
 * items is filled in (checkboxes and items marked data-optional do not count).
 * @param {Element} pair
 * @returns {Record<string, any>|null}
 */
function rowToJson(pair) {
    /** @type {Record<string, any>} */
    const item = {};
    let filled = false;
    for (const el of Array.from(pair.querySelectorAll('[data-item]'))) {
        const input = /** @type {HTMLInputElement} */ (el);
        const value = itemValue(input);
        item[input.dataset.item || ''] = value;
        if (input.type !== 'checkbox' && !input.hasAttribute('data-optional') &&
                String(value ?? '').trim() !== '')
            filled = true;
    }
    const pick = /** @type {HTMLInputElement|null} */ (pair.querySelector('[data-pick]'));
    return (pick ? pick.checked : filled) ? item : null;
}

/**
 * The form's fields as a JSON object. data-type="int"/"bool" convert; fieldsets with data-list
 * become a list of objects from the inputs marked data-item (two fieldsets of the same name make
 * one list).
 * @param {HTMLFormElement} form
 */
function formToJson(form) {
    /** @type {Record<string, any>} */
    const out = {};
    for (const el of Array.from(form.elements)) {
        const input = /** @type {HTMLInputElement} */ (el);
        if (!input.name || input.disabled || input.closest('[data-list]'))
            continue;
        if (input.type === 'radio') {
            if (input.checked) out[input.name] = input.value;
        } else if (input.type === 'checkbox') {
            out[input.name] = input.checked;
        } else if (input.dataset.type === 'int') {
            out[input.name] = input.value === '' ? null : parseInt(input.value, 10);
        } else if (input.dataset.type === 'bool') {
            out[input.name] = input.value === 'true';
        } else {
            out[input.name] = input.value;
        }
    }
    for (const list of Array.from(form.querySelectorAll('[data-list]'))) {
        const name = /** @type {HTMLElement} */ (list).dataset.list || '';
        const rows = Array.from(list.querySelectorAll('.pair')).map(rowToJson)
            .filter(item => item !== null);
        out[name] = (out[name] || []).concat(rows);
    }
    for (const group of Array.from(form.querySelectorAll('[data-object]'))) {
        /** @type {Record<string, string>} */
        const item = {};
        for (const input of Array.from(group.querySelectorAll('[data-field]')))
            item[/** @type {HTMLInputElement} */ (input).dataset.field || ''] =
                /** @type {HTMLInputElement} */ (input).value;
        const filled = Object.entries(item).some(([k, v]) => k !== 'modality' && v.trim() !== '');
        out[/** @type {HTMLElement} */ (group).dataset.object || ''] = filled ? item : null;
    }
    return out;
}

/**
 * @param {HTMLFormElement} form
 * @param {string} message
 * @param {string|undefined} field
 */
function showError(form, message, field) {
    const box = /** @type {HTMLElement|null} */ (form.querySelector('[role=alert]')) ||
        document.getElementById('action-error');
    if (box) {
        box.textContent = message;
        box.hidden = false;
    }
    for (const el of Array.from(form.querySelectorAll('[aria-invalid]')))
        el.removeAttribute('aria-invalid');
    if (field) {
        // A field of a list ("people", "agenda.minutes") is the list's first input.
        const input = form.querySelector(`[name="${CSS.escape(field)}"]`) ||
            form.querySelector(`[data-list="${CSS.escape(field.split('.')[0])}"] input:not([type=hidden])`);
        if (input) {
            input.setAttribute('aria-invalid', 'true');
            /** @type {HTMLElement} */ (input).focus();
        }
    }
}

/** @param {SubmitEvent} event */
async function submitForm(event) {
    const form = /** @type {HTMLFormElement} */ (event.currentTarget);
    event.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm))
        return;
    const button = form.querySelector('button[type=submit]');
    if (button) button.setAttribute('disabled', '');
    const result = await window.ProximaApi.call(form.dataset.method || 'POST', form.dataset.api || '',
        formToJson(form));
    if (button) button.removeAttribute('disabled');
    if (!result.ok) {
        const message = result.data.message ||
            (document.documentElement.lang === 'fr' ? 'La demande a échoué.' : 'The request failed.');
        showError(form, message, result.data.field);
        return;
    }
    if (form.hasAttribute('data-keep-link') && result.data.link) {
        const id = result.data.appointment ? result.data.appointment.id : '';
        sessionStorage.setItem('proxima-new-link-' + id, result.data.link);
    }
    if (form.hasAttribute('data-keep-links') && Array.isArray(result.data.links)) {
        for (const entry of result.data.links)
            sessionStorage.setItem('proxima-new-link-' + entry.appointment_id, entry.link);
    }
    if (form.dataset.show) {
        const box = /** @type {HTMLElement|null} */ (form.querySelector('[data-result]'));
        const out = box && box.querySelector('output');
        if (box && out) {
            out.textContent = result.data[form.dataset.show];
            box.hidden = false;
        }
        return;
    }
    if (form.dataset.next)
        window.location.assign(window.ProximaApi.fillTemplate(form.dataset.next, result.data)
            .replace(/%2F/g, '/'));
    else
        window.location.reload();
}

/** @param {MouseEvent} event */
async function copyField(event) {
    const button = /** @type {HTMLElement} */ (event.currentTarget);
    const field = /** @type {HTMLInputElement|null} */ (document.getElementById(button.dataset.copy || ''));
    if (!field) return;
    field.select();
    try {
        await navigator.clipboard.writeText(field.value);
    } catch (e) {
        document.execCommand('copy');
    }
    button.setAttribute('data-copied', '');
}

function showNewLink() {
    const box = document.getElementById('new-link');
    if (!box) return;
    const key = 'proxima-new-link-' + box.dataset.appointment;
    const link = sessionStorage.getItem(key);
    if (!link) return;
    sessionStorage.removeItem(key);
    /** @type {HTMLInputElement} */ (document.getElementById('new-link-value')).value = link;
    box.hidden = false;
}

/** A group's page after planning: each person's new link, once (see data-keep-links). */
function showNewLinks() {
    let shown = false;
    for (const el of Array.from(document.querySelectorAll('[data-new-link]'))) {
        const box = /** @type {HTMLElement} */ (el);
        const key = 'proxima-new-link-' + box.dataset.newLink;
        const link = sessionStorage.getItem(key);
        const field = /** @type {HTMLInputElement|null} */ (box.querySelector('input'));
        if (!link || !field) continue;
        sessionStorage.removeItem(key);
        field.value = link;
        box.hidden = false;
        shown = true;
    }
    const notice = document.getElementById('new-links-notice');
    if (notice && shown) notice.hidden = false;
}

/**
 * "Add a row" buttons (data-add-row="<most rows>"): a copy of the fieldset's <template data-row>
 * goes before the button, with {i} (for ids) and {n} (for labels) filled in; the new row's first
 * field gets the focus.
 * @param {HTMLButtonElement} button
 */
function addRow(button) {
    const list = button.closest('fieldset');
    const template = /** @type {HTMLTemplateElement|null} */ (list && list.querySelector('template[data-row]'));
    if (!list || !template) return;
    const most = parseInt(button.dataset.addRow || '0', 10);
    const update = () => { button.hidden = list.querySelectorAll('.pair').length >= most; };
    button.addEventListener('click', () => {
        const n = list.querySelectorAll('.pair').length + 1;
        const holder = document.createElement('div');
        holder.innerHTML = fillPlaceholders(template.innerHTML, {i: String(n - 1), n: String(n)});
        const row = holder.firstElementChild;
        if (!row) return;
        button.before(row);
        update();
        const first = /** @type {HTMLElement|null} */ (row.querySelector('input, select'));
        if (first) first.focus();
    });
    update();
}

/**
 * @typedef {{kind: 'back'|'forward', date: string, from: string, until: string,
 *            offset_before: string, offset_after: string}} ClockChange
 */

/**
 * @param {string} template
 * @param {Record<string, string>} values
 */
function fillPlaceholders(template, values) {
    return template.replace(/\{(\w+)\}/g, (whole, name) => name in values ? values[name] : whole);
}

/**
 * The appointment form on the days the clocks change: a note says so, and when the time entered
 * happens twice (the clocks go back) a choice of the first or the second one appears. The choice
 * is sent (as "occurrence") only while it is shown.
 * @param {HTMLFieldSetElement} box
 */
function watchClockChanges(box) {
    const form = box.closest('form');
    const date = /** @type {HTMLInputElement|null} */ (form && form.querySelector('[name=date]'));
    const time = /** @type {HTMLInputElement|null} */ (form && form.querySelector('[name=time]'));
    const note = /** @type {HTMLElement|null} */ (form && form.querySelector('#clock-change-note'));
    if (!date || !time) return;
    /** @type {ClockChange[]} */
    const changes = JSON.parse(box.dataset.clockChanges || '[]');
    const radios = /** @type {HTMLInputElement[]} */ (Array.from(box.querySelectorAll('input[type=radio]')));
    const update = () => {
        const change = changes.find(c => c.date === date.value);
        const at = time.value.slice(0, 5);
        if (note) {
            note.hidden = !change;
            if (change)
                note.textContent = fillPlaceholders(note.dataset[change.kind] || '',
                    {from: change.from, until: change.until === '24:00' ? '00:00' : change.until});
        }
        const repeated = !!change && change.kind === 'back' && at !== '' &&
            at >= change.from && at < change.until;
        box.hidden = !repeated;
        for (const radio of radios)
            radio.disabled = !repeated;
        if (!repeated || !change) return;
        for (const label of Array.from(box.querySelectorAll('[data-label]'))) {
            const span = /** @type {HTMLElement} */ (label);
            const offset = span.dataset.offset === 'after' ? change.offset_after : change.offset_before;
            span.textContent = fillPlaceholders(span.dataset.label || '', {time: at, offset});
        }
    };
    for (const event of ['input', 'change']) {
        date.addEventListener(event, update);
        time.addEventListener(event, update);
    }
    update();
}

document.addEventListener('DOMContentLoaded', () => {
    for (const box of Array.from(document.querySelectorAll('fieldset[data-clock-changes]')))
        watchClockChanges(/** @type {HTMLFieldSetElement} */ (box));
    for (const form of Array.from(document.querySelectorAll('form[data-api]')))
        form.addEventListener('submit', e => submitForm(/** @type {SubmitEvent} */ (e)));
    for (const button of Array.from(document.querySelectorAll('button[data-copy]')))
        button.addEventListener('click', e => copyField(/** @type {MouseEvent} */ (e)));
    for (const button of Array.from(document.querySelectorAll('button[data-add-row]')))
        addRow(/** @type {HTMLButtonElement} */ (button));
    showNewLink();
    showNewLinks();
});
