// out_flame_browser.js - drives a flamegraph SVG in headless Chromium
// (playwright-core) the way a user would: click a frame and check that it
// zoomed to the full width, reset, search a function name and check the
// highlight and the matched percentage, take a screenshot.
//
// usage: node out_flame_browser.js SVG FRAME_NAME SEARCH_TERM SCREENSHOT.png [ZOOMED.png]
// Prints what it checked; exits 0 when every check holds, 1 otherwise.
'use strict';
const path = require('path');
const { chromium } = require('playwright-core');

const [svgPath, frameName, term, shot, zoomShot] = process.argv.slice(2);
let failures = 0;
function check(cond, what) {
    console.log((cond ? 'ok   ' : 'FAIL ') + what);
    if (!cond) failures++;
}

(async () => {
    const browser = await chromium.launch({
        executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
               '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const page = await browser.newPage({ viewport: { width: 1220, height: 900 } });
    const errors = [];
    const requests = [];
    page.on('pageerror', e => errors.push(String(e)));
    page.on('console', m => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('request', r => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
    page.on('dialog', d => d.accept(term));
    await page.goto('file://' + path.resolve(svgPath));

    const full = await page.evaluate(() => +document.documentElement.getAttribute('width') - 20);
    // The frame to click: the first <g class="f"> whose title names it.
    const info = await page.evaluate((name) => {
        const gs = [...document.querySelectorAll('g.f')];
        const i = gs.findIndex(g => g.querySelector('title').textContent.split('\n')[0] === name);
        if (i < 0) return null;
        gs[i].setAttribute('data-test', 'target');
        const r = gs[i].querySelector('rect');
        return { w: +r.getAttribute('width'), frames: gs.length };
    }, frameName);
    check(info !== null, `frame "${frameName}" is drawn`);
    if (!info) { await browser.close(); process.exit(1); }
    check(info.w < full - 1, `"${frameName}" starts narrower than the full width (${info.w.toFixed(1)} < ${full})`);

    // Hover shows the details line; click zooms.
    await page.hover('g[data-test=target] rect');
    const details = await page.textContent('#details');
    check(details.startsWith(frameName) && /calls/.test(details) && /%/.test(details),
          `hovering shows the details line: "${details.trim()}"`);
    await page.click('g[data-test=target] rect');
    const z = await page.evaluate(() => {
        const r = document.querySelector('g[data-test=target] rect');
        const root = document.querySelector('g.f rect');
        const visible = [...document.querySelectorAll('g.f')].filter(g => g.style.display !== 'none').length;
        return { w: +r.getAttribute('width'), x: +r.getAttribute('x'), rootw: +root.getAttribute('width'), visible,
                 reset: !document.getElementById('unzoom').classList.contains('hide') };
    });
    check(Math.abs(z.w - full) < 0.5, `after the click "${frameName}" fills the width (${z.w.toFixed(1)} of ${full})`);
    check(Math.abs(z.rootw - full) < 0.5, 'its ancestors stay, at full width');
    check(z.visible < info.frames || info.frames <= 2, `frames outside the subtree are hidden (${z.visible} of ${info.frames} shown)`);
    check(z.reset, '"Reset zoom" is offered');
    if (zoomShot) await page.screenshot({ path: zoomShot });
    await page.click('#unzoom');
    const back = await page.evaluate(() => +document.querySelector('g[data-test=target] rect').getAttribute('width'));
    check(Math.abs(back - info.w) < 0.01, `Reset zoom restores the width (${back.toFixed(1)})`);

    // Search through the prompt() dialog.
    await page.click('#search');
    const s = await page.evaluate(() => ({
        text: document.getElementById('matched').textContent,
        hits: document.querySelectorAll('g.hit').length,
        fill: (() => { const h = document.querySelector('g.hit rect'); return h ? getComputedStyle(h).fill : ''; })(),
    }));
    const m = /Matched: ([0-9.]+)%/.exec(s.text);
    check(s.hits > 0, `search "${term}" highlights ${s.hits} frame(s) (fill ${s.fill})`);
    check(m && +m[1] > 0 && +m[1] <= 100, `the matched percentage is shown: "${s.text}"`);
    console.log('matched_percent ' + (m ? m[1] : 'none'));

    await page.screenshot({ path: shot });
    check(errors.length === 0, 'no script errors' + (errors.length ? ': ' + errors.join('; ') : ''));
    check(requests.length === 0, 'no network requests' + (requests.length ? ': ' + requests.join(' ') : ''));
    await browser.close();
    process.exit(failures ? 1 : 0);
})().catch(e => { console.log('FAIL ' + e); process.exit(1); });
