// @ts-check
/** A page to print (the attendance sheet): its "Print" button opens the browser's print dialog. */
'use strict';

document.addEventListener('DOMContentLoaded', () => {
    for (const button of Array.from(document.querySelectorAll('[data-print]')))
        button.addEventListener('click', () => window.print());
});
