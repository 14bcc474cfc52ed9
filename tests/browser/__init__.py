"""Browser tests (Playwright + Debian Chromium) against the live store on 127.0.0.1."""
