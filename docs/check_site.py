"""Check the built site like code: its links resolve and its pages load in a real browser.

Run it after the build, from the repository root::

    python -m sphinx -W -b html docs docs/_build/html
    python docs/check_site.py docs/_build/html

The site is served on a free port of localhost (the pages as a reader gets them, not as files).

1. Links: LinkChecker follows every link from the home page through the whole site and checks
   that each internal link (page, image, script, style, ``#anchor``) resolves. Links that leave
   the site are not followed: they need a network.
2. Browser: headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by Selenium)
   opens the gallery index, one tutorial page and the SNU reference's API page, and checks that
   every image on them loaded, that the page logged no error in the console, and that the
   equations were typeset by MathJax without a TeX error.

It prints what it saw on each page, and exits with status 1 and one line per problem otherwise.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

#: The pages opened in the browser, and whether each must show typeset equations.
PAGES = {
    "tutorials/index.html": False,            # the gallery: a thumbnail per tutorial
    "tutorials/03_bptt_by_hand.html": False,  # a tutorial with its figures
    "api/minisnu.units.snu_reference.html": True,  # the textbook SNU: its derivation as math
}
#: The lines of LinkChecker's report of one link that say which link, where, and what went wrong.
LINKCHECKER_FIELD = re.compile(r"^(Real URL|Parent URL|Result|Warning) +(.*)$", re.M)
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--no-first-run", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--window-size=1300,2000")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # the requests are many; the checks report what matters
        pass

    def end_headers(self):
        # LinkChecker waits 0.1 to 0.6 s between two requests to a server, unless the server answers
        # with this header: then the rate in linkcheckerrc applies. This server is ours, on loopback.
        self.send_header("LinkChecker", "checked by docs/check_site.py")
        super().end_headers()


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # LinkChecker hangs up once it has what it needs (an image's headers): not an error
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``folder`` on a free port of 127.0.0.1 in a daemon thread; returns (server, base URL)."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def check_links(base: str) -> list[str]:
    """Every internal link and anchor of the site, by LinkChecker; returns the problems."""
    config = Path(__file__).with_name("linkcheckerrc")    # anchors too; no pause between requests
    command = [sys.executable, "-m", "linkcheck", "--config", str(config), "--no-status", "--threads", "4",
               "--ignore-url", r"^(?!http://127\.0\.0\.1)", base + "index.html"]  # links out: not followed
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    summary = [line for line in result.stdout.splitlines() if "links in" in line and "checked" in line]
    print("links:", summary[-1].strip() if summary else "(no summary)")
    if result.returncode == 0:
        return []
    # LinkChecker reports each link it checked as a block of "Key  value" lines
    problems = []
    for block in result.stdout.split("\n\n"):
        fields = dict(LINKCHECKER_FIELD.findall(block))
        problem = fields.get("Warning", fields.get("Result", ""))
        if "Warning" in fields or problem.startswith("Error"):
            where = f"{fields.get('Real URL')} (on {fields.get('Parent URL')})"
            problems.append(f"link check: {where}: {problem}")
    return problems or [f"link check: LinkChecker exited with {result.returncode}: "
                        f"{result.stderr.strip()[-300:]}"]


def browser():
    """Headless Chromium driven by Selenium, with the console log kept."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        sys.exit("check_site: Chromium and ChromeDriver were not found: install Debian's chromium and "
                 "chromium-driver (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)


IMAGES = """return Array.from(document.images)
                      .map(i => [i.getAttribute('src'), i.complete, i.naturalWidth]);"""
MATH = """const done = arguments[arguments.length - 1];
if (!window.MathJax || !MathJax.startup) { done([-1, 0]); return; }
MathJax.startup.promise.then(() => done([document.querySelectorAll('mjx-container').length,
                                         document.querySelectorAll('mjx-merror').length]));"""


def check_page(driver, base: str, page: str, needs_math: bool) -> list[str]:
    """Open ``page``; its images loaded, no console error, its equations typeset."""
    driver.get(base + page)
    problems = []
    images = driver.execute_script(IMAGES)
    broken = [src for src, complete, width in images if not (complete and width > 0)]
    problems += [f"{page}: image did not load: {src}" for src in broken]
    errors = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    problems += [f"{page}: console error: {message}" for message in errors]
    driver.set_script_timeout(30)
    typeset, tex_errors = driver.execute_async_script(MATH)
    if needs_math and typeset <= 0:
        problems.append(f"{page}: no equation was typeset (MathJax missing or the page has no math)")
    if tex_errors:
        problems.append(f"{page}: {tex_errors} equation(s) failed to typeset (TeX error)")
    title = driver.title.split("—")[0].strip()
    math = f", {typeset} equations typeset" if typeset > 0 else ""
    print(f"{page}: “{title}”: {len(images) - len(broken)}/{len(images)} images loaded, "
          f"{len(errors)} console errors{math}")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path, help="the built site (docs/_build/html)")
    parser.add_argument("--no-links", action="store_true", help="skip the link check")
    args = parser.parse_args(argv)
    missing = [page for page in ["index.html", *PAGES] if not (args.html / page).is_file()]
    if missing:
        sys.exit(f"check_site: {args.html} is not a built site: {', '.join(missing)} missing "
                 "(build it first: python -m sphinx -W -b html docs docs/_build/html)")

    server, base = serve(args.html)
    try:
        problems = [] if args.no_links else check_links(base)
        driver = browser()
        try:
            for page, needs_math in PAGES.items():
                problems += check_page(driver, base, page, needs_math)
        finally:
            driver.quit()
    finally:
        server.shutdown()
    for problem in problems:
        print(problem, file=sys.stderr)
    print("site check:", "passed" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
