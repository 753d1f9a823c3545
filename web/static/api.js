// @ts-check
/**
 * Proxima's JSON API client. DOM-free: it only speaks HTTP, so the console pages and any later
 * client share it. Every call sends and expects JSON and keeps the session cookie (same origin).
 */
'use strict';

/**
 * @typedef {{ok: boolean, status: number, data: any}} ApiResult
 */

/**
 * Call the API.
 * @param {string} method  HTTP method (GET, POST, PUT, PATCH, DELETE)
 * @param {string} url     a path under /api/
 * @param {object} [body]  sent as JSON
 * @returns {Promise<ApiResult>}
 */
async function apiCall(method, url, body) {
    /** @type {RequestInit} */
    const init = {
        method: method,
        credentials: 'same-origin',
        headers: {'Accept': 'application/json'},
    };
    if (body !== undefined && method !== 'GET') {
        init.headers = {'Accept': 'application/json', 'Content-Type': 'application/json'};
        init.body = JSON.stringify(body);
    }
    let response;
    try {
        response = await fetch(url, init);
    } catch (e) {
        return {ok: false, status: 0, data: {error: 'network', message: ''}};
    }
    let data = {};
    try {
        data = await response.json();
    } catch (e) {
        data = {error: 'not_json', message: ''};
    }
    return {ok: response.ok, status: response.status, data: data};
}

/**
 * Replace {a.b} placeholders in a template with values from an object.
 * @param {string} template
 * @param {any} values
 * @returns {string}
 */
function fillTemplate(template, values) {
    return template.replace(/\{([a-z_.]+)\}/g, (_, path) => {
        let v = values;
        for (const part of path.split('.'))
            v = v == null ? undefined : v[part];
        return encodeURIComponent(v == null ? '' : String(v));
    });
}

window.ProximaApi = {call: apiCall, fillTemplate: fillTemplate};
