"""From a body to what the customer wrote this time: HTML to text, quoted history and signature off.

HTML is converted with BeautifulSoup's `get_text` (MIT, maintained, pure Python with the
standard library's parser): the quoting containers mail clients use (``blockquote type=cite``,
Gmail's ``gmail_quote``, Outlook's ``divRplyFwdMsg``) are removed from the tree before the text
is taken, which is more reliable than finding them again in text. html2text was not used: it is
GPL-3.0 (this project is MIT) and writes Markdown, which we would have to strip again.

Quoted history and signatures are cut by mail-parser-reply (MIT, maintained, 13 languages),
with two additions it lacks: a forwarded message is kept (the customer forwards it for us to
read), and leftover ``>`` lines and separator rules are dropped.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Tag

REPLY_LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "sv", "da", "pl", "cs", "ja", "ko", "zh"]
_BLOCKS = [
    "p",
    "div",
    "tr",
    "table",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "pre",
    "section",
    "article",
    "header",
    "footer",
    "hr",
]
_QUOTE_SELECTORS = [
    "blockquote[type=cite]",
    "div.gmail_quote",
    "div.yahoo_quoted",
    "div.moz-cite-prefix",
    "blockquote.gmail_quote",
]
FORWARD_RE = re.compile(
    r"^\s*(?:-{2,}\s*(?:Forwarded message|Weitergeleitete Nachricht|Message transféré|Mensaje reenviado)\s*-{2,}"
    r"|Begin forwarded message:)\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_FORWARD_HEADER_RE = re.compile(
    r"^(?:From|Date|Sent|Subject|To|Cc|Von|Datum|Betreff|An|De|Objet|À|Para|Asunto)\s*:",
    re.IGNORECASE,
)


def html_to_text(html: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "head", "title", "meta", "noscript"]):
        tag.decompose()
    for selector in _QUOTE_SELECTORS:
        for tag in soup.select(selector):
            tag.decompose()
    outlook = soup.find(id=["divRplyFwdMsg", "appendonsend"])
    if isinstance(outlook, Tag):  # Outlook: the quoted mail is everything after this marker
        for sibling in list(outlook.find_next_siblings()):
            sibling.decompose()
        previous = outlook.find_previous_sibling()
        if isinstance(previous, Tag) and previous.name == "hr":
            previous.decompose()
        outlook.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for li in soup.find_all("li"):
        li.insert_before("\n- ")
    for block in soup.find_all(_BLOCKS):
        block.insert_before("\n")
        block.insert_after("\n")
    return tidy(soup.get_text())


def tidy(text: str) -> str:
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _latest_reply(text: str) -> str:
    try:
        from mailparser_reply.parser import EmailMessage

        parsed = EmailMessage(text=text, languages=list(REPLY_LANGUAGES), keep_hyphen_lists=True).read()
        body = parsed.replies[0].body if parsed.replies else text
    except Exception:  # the library failed on odd input: cut at the first quoted line instead
        body = text.split("\n>", 1)[0]
    return body


def _drop_quotes(text: str) -> str:
    lines = [line for line in text.split("\n") if not line.lstrip().startswith(">")]
    while lines and re.fullmatch(r"\s*[-_=*]{3,}\s*", lines[-1]):
        lines.pop()
    return tidy("\n".join(lines))


def strip_reply(text: str) -> str:
    """What the sender wrote in this message: no quoted history, no signature; forwards kept."""
    if not text.strip():
        return ""
    forward = FORWARD_RE.search(text)
    if forward:
        note = _drop_quotes(_latest_reply(text[: forward.start()]))
        lines = text[forward.end() :].strip("\n").split("\n")
        while lines and (_FORWARD_HEADER_RE.match(lines[0]) or not lines[0].strip()):
            lines.pop(0)
        forwarded = _drop_quotes(_latest_reply("\n".join(lines)))
        return tidy(f"{note}\n\nForwarded message:\n{forwarded}" if note else f"Forwarded message:\n{forwarded}")
    return _drop_quotes(_latest_reply(text))
