"""kehoach: notifications.

Letters: `contexts` (what each kind needs), `render` (jinja2 templates under `templates/`),
`vietnamese` (dates and numbers). Sending: `sender` (yagmail, one connection per batch),
`guard` (.example only to loopback), `drain` (claim → send → mark). Development: `mailsink`
and `mailsink_web` (a local SMTP server that keeps every message and shows it in a page).
"""
