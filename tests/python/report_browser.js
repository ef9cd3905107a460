// report_browser.js — drives `gradcam report`'s page in headless Chromium
// (playwright-core, Debian's /usr/bin/chromium) for tests/python/test_report.py.
// usage: node report_browser.js INDEX_HTML CLASS_LABEL SORT_KEY SCREENSHOT
// Prints one JSON object of what it saw.
const { chromium } = require('playwright-core');

(async () => {
  const [page_path, label, sortKey, shot] = process.argv.slice(2);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
                                          args: ['--no-sandbox'] });
  const seen = { console_errors: [], page_errors: [], requests: [] };
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on('console', m => { if (m.type() === 'error') seen.console_errors.push(m.text()); });
    page.on('pageerror', e => seen.page_errors.push(String(e)));
    page.on('request', r => seen.requests.push(r.url()));
    await page.goto('file://' + page_path, { waitUntil: 'load' });
    const cards = () => page.$$eval('#gallery .card', cs => cs.map(c => ({
      index: +c.dataset.index, cls: c.className, text: c.textContent })));
    seen.all = await cards();
    seen.images_loaded = await page.$$eval('#gallery img', is => is.length > 0 &&
      is.every(i => i.complete && i.naturalWidth > 0));
    seen.svg_plots = await page.$$eval('.plots svg', s => s.length);
    await page.selectOption('#cls', label);
    seen.by_class = await cards();
    seen.count_text = await page.textContent('#count');
    await page.selectOption('#cls', '');
    await page.selectOption('#correct', 'wrong');
    seen.wrong = await cards();
    await page.selectOption('#correct', 'failed');
    seen.failed = await cards();
    await page.selectOption('#correct', '');
    await page.selectOption('#sort', sortKey);
    seen.sorted = (await cards()).map(c => c.index);
    await page.click('#gallery .card:not(.failed)');
    await page.waitForFunction(() => {
      const i = document.querySelector('#lightbox img');
      return document.getElementById('lightbox').classList.contains('open') && i.complete &&
             i.naturalWidth > 0;
    }, null, { timeout: 10000 });
    seen.lightbox = true;
    await page.click('#lightbox');
    seen.lightbox_closed = !(await page.$eval('#lightbox', l => l.classList.contains('open')));
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: shot, fullPage: false });
  } catch (e) {
    seen.exception = String(e);
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(seen));
})();
