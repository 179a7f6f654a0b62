"""The web dashboard (docs/dashboard.md) in a real headless Chromium, on a real
farm (tests/python/farm.py): jobs submitted through qbsub, the frame grid turning
green live, a job blocked from the page, an item's log, and one user refused
another's job. QUBE_SCREENSHOTS=DIR saves the docs' screenshots there."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from farm import Farm, bin_dir, supervisor_has_http, wait_until  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
try:
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.chrome.service import Service
    from selenium.common.exceptions import StaleElementReferenceException
    HAVE_SELENIUM = True
except ImportError:
    HAVE_SELENIUM = False

pytestmark = [
    pytest.mark.skipif(not HAVE_SELENIUM, reason="python3-selenium is not installed (apt install python3-selenium)"),
    pytest.mark.skipif(not CHROMIUM or not DRIVER,
                       reason="chromium and chromedriver are not installed (apt install chromium chromium-driver)"),
    pytest.mark.skipif(not supervisor_has_http(bin_dir()), reason="no qbsupervisor with --http in QUBE_BIN"),
]


@pytest.fixture
def farm():
    with tempfile.TemporaryDirectory(prefix="qube-dash-") as d:
        f = Farm(bin_dir(), d).start()
        try:
            yield f
        finally:
            f.stop()


@pytest.fixture
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--disable-gpu", "--window-size=1280,860", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_script_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


def as_user(farm, user, *argv):
    env = dict(farm.env, QB_USER=user)
    out = subprocess.run(list(argv), capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, "%s: %s" % (" ".join(argv), out.stderr)
    return out.stdout


def qbsub(farm, user, *args):
    return int(as_user(farm, user, os.path.join(farm.bin, "qbsub"), *args).split()[0])


def token(farm, user):
    return json.loads(as_user(farm, user, os.path.join(farm.bin, "qb"), "keys", "token", "--json"))["token"]


def status(farm, job):
    return json.loads(farm.qb("show", str(job), "--json"))["status"]


def screenshot(driver, name):
    directory = os.environ.get("QUBE_SCREENSHOTS")
    if directory:
        driver.save_screenshot(os.path.join(directory, name))


def until(driver, script, what, timeout=20):
    """Waits for a JavaScript expression in the page to be true; its value."""
    return wait_until(lambda: driver.execute_script("return " + script), timeout=timeout, what=what)


def click(driver, selector, timeout=10):
    """Clicks the element `selector` finds. The page redraws what it watches live
    (cells, rows): an element found just before a redraw is stale by the click,
    and is found again."""
    def clicked():
        try:
            driver.find_element(By.CSS_SELECTOR, selector).click()
            return True
        except StaleElementReferenceException:
            return False
    wait_until(clicked, timeout=timeout, what="a click on " + selector)


def test_dashboard_watches_steers_and_refuses(farm, browser):
    alice, bob = token(farm, "alice"), token(farm, "bob")
    frames = qbsub(farm, "alice", "--name", "frames", "--range", "1-6",
                   "sh", "-c", "sleep 0.7; echo rendered frame QB_FRAME_NUMBER")

    # Sign in with alice's token.
    browser.get(farm.api_url + "/ui/")
    until(browser, "!document.getElementById('login').hidden", "the sign-in form")
    browser.find_element(By.ID, "token").send_keys(alice)
    browser.find_element(By.ID, "login-button").click()
    until(browser, "document.getElementById('whoami').textContent.includes('alice')", "signed in as alice")
    assert not browser.find_element(By.ID, "login").is_displayed()
    until(browser, "document.querySelectorAll('#jobs-table tbody tr[data-id]').length === 1", "the job listed")

    # The job's page: the grid starts with frames not yet done and turns green
    # from the event stream alone (the marker proves the page never reloads).
    browser.get(farm.api_url + "/ui/#/job/%d" % frames)
    browser.execute_script("window.__stayed = true")
    until(browser, "document.querySelectorAll('.cells.items .cell').length === 6", "six frame cells")
    assert browser.execute_script(
        "return document.querySelectorAll('.cells.items .cell:not(.status-complete)').length") > 0, \
        "every frame was already complete before the page looked"
    until(browser, "document.querySelectorAll('.cells.items .cell.status-complete').length === 6",
          "every frame cell green", timeout=30)
    assert browser.execute_script("return window.__stayed === true"), "the page reloaded"
    green = browser.execute_script(
        "return getComputedStyle(document.querySelector('.cell.status-complete')).backgroundColor")
    assert green == "rgb(46, 158, 68)", green

    # An item's attempts and its log.
    click(browser, ".cell[data-work='3']")
    until(browser, "(document.getElementById('log') || {}).textContent?.includes('rendered frame 3')", "frame 3's log")
    until(browser, "document.querySelector('.item table tbody tr td:nth-child(3)')?.textContent === 'pyfarm-w1'",
          "the attempt's host")
    until(browser, "document.querySelector('#fail-h') && document.querySelector('#hist-h + table')", "history shown")
    until(browser, "document.getElementById('job-status')?.textContent === 'complete'", "the job's status, live")
    screenshot(browser, "dashboard-job.png")

    # Two jobs that keep the worker's two slots: alice's and bob's.
    sleeper = qbsub(farm, "alice", "--name", "sleeper", "sleep", "60")
    bobs = qbsub(farm, "bob", "--name", "bobs-job", "sleep", "60")

    # Block alice's sleeper from the jobs view.
    browser.get(farm.api_url + "/ui/#/jobs")
    until(browser, "document.querySelector('#jobs-table tr[data-id=\"%d\"]')" % sleeper, "the sleeper's row")
    click(browser, "tr[data-id='%d'] input[type=checkbox]" % sleeper)
    click(browser, "button[data-verb='block']")
    wait_until(lambda: status(farm, sleeper) == "blocked", timeout=15, what="the sleeper blocked")
    until(browser, "document.querySelector('tr[data-id=\"%d\"] .badge')?.textContent === 'blocked'" % sleeper,
          "the row showing blocked")
    screenshot(browser, "dashboard-jobs.png")

    # Alice cannot kill bob's job from the page: refused, and it still runs.
    click(browser, "tr[data-id='%d'] input[type=checkbox]" % sleeper)
    click(browser, "tr[data-id='%d'] input[type=checkbox]" % bobs)
    click(browser, "button[data-verb='kill']")
    browser.switch_to.alert.accept()  # "kill 1 job(s)?"
    message = until(browser, "document.querySelector('.result.error')?.textContent", "the refusal")
    assert "refused" in message and str(bobs) in message, message
    assert status(farm, bobs) in ("running", "pending"), status(farm, bobs)
    # ... and the same holds on the job's own page.
    browser.get(farm.api_url + "/ui/#/job/%d" % bobs)
    until(browser, "document.querySelector('button[data-verb=\"kill\"]')", "bob's job page")
    click(browser, "button[data-verb='kill']")
    message = until(browser, "document.querySelector('.result.error')?.textContent", "the refusal")
    assert "kill" in message, message
    assert status(farm, bobs) in ("running", "pending"), status(farm, bobs)

    # Hosts: the worker, its slots, and what runs there.
    browser.get(farm.api_url + "/ui/#/hosts")
    until(browser, "document.querySelector('#hosts-table tr[data-host=\"pyfarm-w1\"]')?.textContent.includes('/2')",
          "the worker's row")
    screenshot(browser, "dashboard-hosts.png")
    assert bob  # bob's token exists: the refusal above is about ownership, not an unknown user


def post_json(url, token_, body, timeout=120):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": "Bearer " + token_, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return json.loads(reply.read())
    except urllib.error.HTTPError as e:
        raise AssertionError("POST %s: %d %s" % (url, e.code, e.read().decode(errors="replace"))) from None


def sign_in(browser, farm, token_, user):
    browser.get(farm.api_url + "/ui/")
    until(browser, "!document.getElementById('login').hidden", "the sign-in form")
    browser.find_element(By.ID, "token").send_keys(token_)
    browser.find_element(By.ID, "login-button").click()
    until(browser, "document.getElementById('whoami').textContent.includes('%s')" % user, "signed in as " + user)


# CI paints 500 jobs and prints the time: speed is judged by the benchmark, not by a
# test on a loaded machine. bench/dashboard_first_paint.sh asks for the 10,000
# and its budget of 1,000 ms (QUBE_FIRST_PAINT_BUDGET_MS).
FIRST_PAINT_JOBS = int(os.environ.get("QUBE_FIRST_PAINT_JOBS", "500"))
FIRST_PAINT_BUDGET_MS = float(os.environ.get("QUBE_FIRST_PAINT_BUDGET_MS", "0"))  # 0: no budget


def test_first_paint_of_many_jobs(farm, browser):
    """The jobs table's first paint, from navigation to the page's
    performance.mark, with FIRST_PAINT_JOBS jobs on the farm (docs/performance.md)."""
    alice = token(farm, "alice")
    # One submission over HTTP, held so that nothing runs and the farm is quiet.
    jobs = [{"name": "paint-%05d" % n, "blocked": True,
             "package": {"cmdline": "true"}, "type": "cmdline"} for n in range(FIRST_PAINT_JOBS)]
    assert len(post_json(farm.api_url + "/api/v1/jobs", alice, {"jobs": jobs})["ids"]) == FIRST_PAINT_JOBS
    sign_in(browser, farm, alice, "alice")
    figures = []
    browser.get(farm.api_url + "/ui/#/jobs")
    for _ in range(3):  # the token stays in the tab: each load goes straight to the table
        browser.refresh()
        painted = until(browser, "performance.getEntriesByName('qube:jobs-painted')[0]?.startTime",
                        "the jobs table painted")
        rows = browser.execute_script("return document.querySelector('#view span.count[role=status]')?.textContent")
        assert rows and rows.startswith("%d of %d" % (FIRST_PAINT_JOBS, FIRST_PAINT_JOBS)), rows
        figures.append(painted)
        # Where the time went: each API call's start, first byte and end (ms from navigation).
        print(browser.execute_script(
            "return performance.getEntriesByType('resource').filter(e => e.name.includes('/api/v1/'))"
            ".map(e => e.name.replace(/.*api.v1/, '') + ' ' + [e.startTime, e.responseStart, e.responseEnd]"
            ".map(Math.round).join('-')).join('; ')"))
    best = min(figures)
    print("\nfirst paint with %d jobs: %s ms (best %.0f ms)" % (FIRST_PAINT_JOBS, ", ".join("%.0f" % f for f in figures), best))
    if FIRST_PAINT_BUDGET_MS > 0:
        assert best < FIRST_PAINT_BUDGET_MS, figures


def test_failure_analysis_pages_through_failed_items(farm, browser):
    """The failure analysis reads only failed items (show with failed: true), a
    page at a time: a job over 20,000 items gets one, not a pointer to qb."""
    alice = token(farm, "alice")
    failing = qbsub(farm, "alice", "--name", "failing", "--range", "1-3", "sh", "-c", "exit 3")
    big = qbsub(farm, "alice", "--name", "big", "--status", "blocked", "--range", "1-25000", "true")
    wait_until(lambda: status(farm, failing) == "failed", timeout=30, what="the failing job failed")
    sign_in(browser, farm, alice, "alice")

    browser.get(farm.api_url + "/ui/#/job/%d" % failing)
    text = until(browser, "document.querySelector('#fail-h')?.parentNode.textContent.match(/\\d+ failed attempt/) && "
                 "document.querySelector('#fail-h').parentNode.textContent", "the failure analysis")
    assert "3 failed attempt(s)" in text and "exit 3" in text and "pyfarm-w1" in text, text

    browser.get(farm.api_url + "/ui/#/job/%d" % big)
    text = until(browser, "document.querySelector('#fail-h')?.parentNode.textContent.match(/\\d+ failed attempt/) && "
                 "document.querySelector('#fail-h').parentNode.textContent", "the big job's failure analysis")
    assert "0 failed attempt(s)" in text and "qb show" not in text, text
