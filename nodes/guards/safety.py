"""Content safety at intake: self-harm, abuse, harmful and off-topic requests.

Deterministic word lists over a normalised view of the message (look-alikes,
accents, leetspeak, stretched letters and masked swear words undone). The order
of the checks is the order of importance: a person who may be at risk is always
answered as such, whatever else the message says.

- self-harm: a caring reply with crisis lines, and a person is asked to reach out
  (the intake routes the turn to the escalation node, which opens an urgent ticket);
- harmful or illegal requests, attacks on our systems (SQL injection and the like) and requests for
  the assistant's own prompts, configuration or keys: a polite refusal;
- abuse with no support request in it: a calm reply that invites the actual question.
  Anger alongside a request ("wtf where is my f***ing order 11096") is served normally;
- off-topic requests (poems, trivia, homework): a polite note of what we can help with.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from nodes.guards.message import normalise

Kind = Literal["ok", "self_harm", "abusive", "harmful", "off_topic"]

SCOPE = "orders, deliveries, returns and refunds, billing and payments, and your account"

SELF_HARM_REPLY = (
    "I'm really sorry you're feeling this way, and I'm glad you told me. You don't have to go through this alone. "
    "If you are in immediate danger, please call your local emergency number now. You can talk to someone at a "
    "crisis line at any time: in the US call or text 988 (Suicide & Crisis Lifeline), in the UK and Ireland call "
    "Samaritans on 116 123, and findahelpline.com lists free, confidential lines in other countries. "
    "I am also passing your message to a member of our team so a person can reach out to you."
)
ABUSIVE_REPLY = (
    "I'm sorry things have been frustrating. I'm here to help with " + SCOPE + ". If you tell me what went "
    "wrong, and the order number if there is one, I will look into it straight away."
)
HARMFUL_REPLY = "I'm sorry, but I can't help with that. I can help with " + SCOPE + "."
OFF_TOPIC_REPLY = (
    "I'm the support assistant for Northwind Home & Tech, so I can't help with that, but I can help with "
    + SCOPE
    + ". What can I do for you?"
)


@dataclass(frozen=True)
class SafetyVerdict:
    kind: Kind = "ok"
    reply: str | None = None  # when set, the workflow answers with this instead of routing
    escalate: bool = False  # a person must see this conversation


OK = SafetyVerdict()

# --------------------------------------------------------------------------- normalised views

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})


def _fold(lowered: str) -> str:
    """No accents or combining marks, apostrophes dropped (the text is already normalised and lower case)."""
    text = lowered.replace("’", "'").replace("‘", "'")
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return text.replace("'", "")


def _views(lowered: str) -> tuple[str, str]:
    """(words, masked): plain words with leetspeak undone and stretched letters squeezed, and the same
    text keeping the symbols people use to mask swear words (f***, sh!t)."""
    folded = _fold(lowered)
    masked = re.sub(r"\s+", " ", folded)

    def unleet(match: re.Match[str]) -> str:
        token = match.group()
        return token.translate(_LEET) if any(ch.isalpha() for ch in token) else token

    words = re.sub(r"[a-z0-9@$!]+", unleet, folded)
    words = re.sub(r"([a-z])\1{2,}", r"\1", words)  # "fuuuuck", "hellllp"
    words = re.sub(r"[^a-z0-9]+", " ", words).strip()
    # "f u c k", "k i l l": letters spaced out one by one are read as one word.
    words = re.sub(r"\b[a-z](?: [a-z]\b){2,}", lambda m: m.group().replace(" ", ""), words)
    return f" {words} ", f" {masked} "


def _any(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


# --------------------------------------------------------------------------- word lists

SELF_HARM = _any(
    [
        r"\b(kill|killing|hurt|hurting|harm|harming|cut|cutting|hang|hanging|shoot|poison|drown|starve) my ?self\b",
        r"\bkms\b",
        r"\bsuicid",
        r"\bself ?harm",
        r"\bend(ing)? (my|it) (own )?(life|all)\b",
        r"\bend it all\b",
        r"\btake my (own )?life\b",
        r"\btaking my (own )?life\b",
        r"\b(want|wanna|going|gonna|ready|plan|planning) (to )?die\b",
        r"\bi (want|wish) (to be|i was|i were) dead\b",
        r"\bi wish i (was|were) never born\b",
        r"\bbetter off dead\b",
        r"\b(dont|do not|no longer) want to (live|be alive|exist|wake up)\b",
        r"\bno (reason|point) (in |to )?(living|live|going on)\b",
        r"\bnot worth living\b",
        r"\bcant go on (anymore|any more|living)\b",
        r"\b(overdose|od) on\b",
        r"\bjump (off|from) (a|the) (bridge|roof|building)\b",
        r"\bunalive (my ?self)?\b",
    ]
)
# Requests to cause harm, break the law, or take other people's data.
HARMFUL = _any(
    [
        r"\b(make|build|making|building|assemble|craft|cook|synthesi[sz]e|produce) (a |an |some )?(pipe )?(bombs?|explosives?|napalm|molotov|"
        r"meth|methamphetamine|cocaine|heroin|fentanyl|nerve agent|ricin|poison|ghost gun|untraceable gun|silencer)\b",
        r"\bhow (do i|to|can i) (poison|kill|murder|hurt|stab|shoot) (someone|somebody|a person|people|my|him|her|them)\b",
        r"\b(kill|murder|hurt|stab|shoot|bomb|attack) (you|your (staff|team|employees|office|warehouse|store|ceo))\b",
        r"\b(hack|hacking|break) (into )?(someone|somebody|another|other|my exs?|his|her|their|a)( \w+)? (account|email|phone|password)s?\b",
        r"\bhack (into )?(your|the) (system|database|server|site|website)\b",
        r"\b(crack|steal|phish|brute ?force)(ing)? (someones? |other peoples |their |his |her )?(passwords?|accounts?|credentials|logins?)\b",
        r"\b(buy|sell|use|using|get|where to get|cash out) (me |us )?(a |some )?stolen (credit |debit )?cards?\b",
        r"\bstolen card (numbers|dumps|details)\b",
        r"\bcarding\b",
        r"\b(use|using) (someone|somebody) elses (credit |debit )?card\b",
        r"\b(buy|sell|get) (stolen|cloned|fake) (credit |debit )?cards?\b",
        r"\bcard (dumps|skimmer|skimming)\b",
        r"\bcredit card numbers (of|from|for) (other|your) (customers|users|people)\b",
        r"\blaunder(ing)? (money|cash|funds)\b",
        r"\bmoney laundering\b",
        r"\bcounterfeit (money|bills|notes|goods)\b",
        r"\bfake (ids?|passports?|receipts?|invoices?|reviews) (to|for|that)\b",
        r"\b(refund|chargeback) (scam|fraud)\b",
        r"\b(write|make|create|build|code) (me )?(a |some )?(malware|ransomware|keylogger|virus|trojan|botnet|phishing (email|page|site|kit))\b",
        r"\bddos\b",
        r"\b(give|show|tell|send|list|export|dump|sell) (me )?(all |the )?(other |another )?(customers?|users?|clients?|peoples?)s? "
        r"(emails?|e mails?|phone numbers?|addresses|personal (data|details|information)|home address|credit cards?|card numbers)\b",
        r"\b(emails?|email address(es)?|phone numbers?|addresses|personal data|credit cards?|card numbers|orders) of "
        r"(all |other |another |your |the )+(customers?|users?|clients?)\b",
        r"\b(find|track|stalk|locate) (where|the address of) (someone|somebody|a person|my ex|him|her) (lives?)?\b",
    ]
)
# Attacks on our systems rather than requests: SQL injection, script injection, path traversal. Read on the
# normalised text itself, which keeps quotes and operators.
ATTACK = re.compile(
    "|".join(
        [
            r"'\s*(or|and)\s+'?[\w ]*'?\s*=\s*'?",
            r"\b(or|and)\s+(?P<n>\d+)\s*=\s*(?P=n)\b",
            r";\s*(drop|delete|update|insert|truncate|alter|exec|shutdown)\b",
            r"\bunion\s+(all\s+)?select\b",
            r"\bdrop\s+table\b",
            r"\bdelete\s+from\b",
            r"\binsert\s+into\b",
            r"\bupdate\s+\w+\s+set\b",
            r"\bxp_cmdshell\b",
            r"\b(pg_)?sleep\s*\(\s*\d",
            r"\binformation_schema\b",
            r"\w'\s*;?\s*--\s*$",
            r"<\s*script\b",
            r"\bjavascript:",
            r"(\.\./){2,}",
            r"\$\{jndi:",
        ]
    )
)
# Requests for the assistant's own insides: prompts, configuration, keys. Refused; the intake flags them too.
INTERNALS = _any(
    [
        r"\b(system|initial|hidden|original) prompt\b",
        r"\byour (instructions|prompt|system message|guidelines|configuration|config)\b",
        r"\b(api ?key|openai api key|secret key|access token|connection string|database (url|password|credentials)|"
        r"environment variables?|env vars?)\b",
        r"\bswitchboard [a-z]+ (url|key)\b",
        r"\bhidden instructions\b",
        r"\b(facts|system) block\b",
        r"\b(json )?schemas? (of|for) (your|the) tools\b",
        r"\b(list|show|print|reveal|dump|tell me) (me )?(all |the )?(your |the )?(tools|functions) (you|u) (can )?(call|use|have)\b",
    ]
)
ABUSE_MASKED = _any(
    [
        r"\bf[\*#%@$!]{1,4}c?k",
        r"\bf[u\*#%@$!][\*#%@$!]{1,3}(ing|in|er|ed)?\b",
        r"\bf[\*#%@$!]+(?![a-z])",
        r"\bsh[\*#%@$!1i]t",
        r"\bb[\*#%@$!][\*#%@$!t]ch",
        r"\ba[\*#%@$!]{2}(hole)?\b",
        r"\bc[\*#%@$!]nt",
    ]
)
ABUSE = _any(
    [
        r"\bf+u+c*k+",
        r"\bkys\b",
        r"\bfck",
        r"\bfk (you|u|off|this)\b",
        r"\bfuk",
        r"\bphuck",
        r"\bwtf\b",
        r"\bstfu\b",
        r"\bgtfo\b",
        r"\bmotherf",
        r"\bshit",
        r"\bbullshit",
        r"\bbitch",
        r"\bbastard",
        r"\bass ?holes?\b",
        r"\bdickheads?\b",
        r"\bdick\b",
        r"\bcunt",
        r"\bprick\b",
        r"\btwat",
        r"\bwanker",
        r"\bdouche",
        r"\bpiss (off|poor)\b",
        r"\bpissed\b",
        r"\bcrap\b",
        r"\bdamn\b",
        r"\bgoddamn",
        r"\bbloody (hell|useless|idiots?)\b",
        r"\bidiots?\b",
        r"\bmorons?\b",
        r"\bimbeciles?\b",
        r"\bstupid\b",
        r"\bdumb\b",
        r"\bretard",
        r"\buseless\b",
        r"\bincompetent\b",
        r"\bpathetic\b",
        r"\bworthless\b",
        r"\bclowns?\b",
        r"\bgarbage\b",
        r"\btrash\b",
        r"\bsucks?\b",
        r"\bshut up\b",
        r"\bgo to hell\b",
        r"\bscrew (you|u|this)\b",
        r"\bhate (you|u|this|your)\b",
        r"\bkiss my\b",
        r"\bdie in a\b",
        r"\bgo die\b",
        r"\bl(oo|u)sers?\b",
        r"\bjerks?\b",
        r"\bscam(mers?|s)?\b",
        r"\bthie(f|ves)\b",
        r"\bcrooks?\b",
        r"\bfraudsters?\b",
    ]
)
# Words that show the message asks for something we do. Their presence turns anger into a request to serve.
SUPPORT = _any(
    [
        r"\border",
        r"\bpurchas",
        r"\bitems?\b",
        r"\bproducts?\b",
        r"\bpackages?\b",
        r"\bparcels?\b",
        r"\bdeliver",
        r"\bship",
        r"\btrack",
        r"\brefund",
        r"\breimburs",
        r"\bmoney back\b",
        r"\breturn",
        r"\bexchang",
        r"\bswap",
        r"\bcancel",
        r"\bpay",
        r"\bcards?\b",
        r"\bcharg",
        r"\bbill",
        r"\binvoic",
        r"\breceipt",
        r"\bfees?\b",
        r"\bpenalt",
        r"\bprices?\b",
        r"\baccount",
        r"\bpassword",
        r"\blog ?in\b",
        r"\blogin",
        r"\bsign ?(in|up)\b",
        r"\bregist",
        r"\bprofile",
        r"\bemail",
        r"\baddress",
        r"\bnewsletter",
        r"\bsubscri",
        r"\breview",
        r"\bfeedback",
        r"\bcomplain",
        r"\bclaim",
        r"\bagent\b",
        r"\bhuman\b",
        r"\bperson\b",
        r"\brepresentative",
        r"\bmanager\b",
        r"\bsupervisor",
        r"\bcustomer (service|support|care|assistance)\b",
        r"\bsupport\b",
        r"\bwarrant",
        r"\bdamaged\b",
        r"\bbroken\b",
        r"\bdefect",
        r"\bmissing\b",
        r"\blost\b",
        r"\blate\b",
        r"\bdelay",
        r"\barriv",
        r"\bcoupon",
        r"\bpromo",
        r"\bgift card",
        r"\bdiscount",
        r"\bstore credit",
        r"\bcheckout",
        r"\bcart\b",
        r"\bapp\b",
        r"\bwebsite\b",
        r"\bsite\b",
        r"\berror\b",
        r"\bcrash",
        r"\bticket",
        r"\bunlock",
        r"\blocked\b",
        r"\b2fa\b",
        r"\btwo factor",
        r"\bverif",
        r"\bmy data\b",
        r"\bprivacy",
        r"\bgdpr\b",
        r"\bdelete my\b",
        r"\bclose my\b",
        r"\bsize\b",
        r"\b(take|accept|use|with)\b.{0,20}\b(bitcoin|crypto\w*)",  # paying with it is a support question
        r"\bmoney\b",
        r"\brebate",
        r"\bcompensat",
        r"\brestitution",
        r"\bcomment",
        r"\bopinion",
        r"\barticle",
        r"\binformation\b",
        r"\bdetails\b",
        r"\bplan\b",
        r"\bmembership",
        r"\d+ (dollars|usd|bucks)\b",
        r"(?<![\d.,$])\b(?!(?:19|20)\d\d\b)\d{4,12}\b(?![.,]\d)",  # an order or purchase number (not a year)
    ]
)
# Words that show the message asks for something, even where the topic is misspelt ("my cacount").
REQUEST = _any(
    [
        r"\bhelp",
        r"\bassist",
        r"\bneed",
        r"\bwant",
        r"\bwanna\b",
        r"\bwould like\b",
        r"\bid like\b",
        r"\bplease\b",
        r"\bpls\b",
        r"\bhow (do|can|to|long|much|soon|many|could|would|should|is|are|does)\b",
        r"\bwhere (is|are|can|do|does|to|could|should)\b",
        r"\bwhen (will|is|are|do|does|can|could|should)\b",
        r"\b(can|could|would|will) (you|u|ya|i|we)\b",
        r"\bis (it|there) (possible|a|an|any)\b",
        r"\bdo (you|u|ya) have\b",
        r"\btrying to\b",
        r"\bwaiting (for|on)\b",
        r"\bexpect",
        r"\bdemand",
        r"\brequest",
        r"\bobtain",
        r"\breceive",
        r"\bleave a",
        r"\bsubmit",
        r"\bcheck",
        r"\bfind\b",
        r"\blocate",
        r"\bedit",
        r"\bchange",
        r"\bupdate",
        r"\bopen",
        r"\bclose",
        r"\bclosing",
        r"\bcreate",
        r"\bremove",
        r"\bdelete",
        r"\bfix\b",
        r"\bsolve",
        r"\bresolve",
        r"\breport",
        r"\bnotify",
        r"\binform",
        r"\bspeak (to|with)\b",
        r"\btalk (to|with)\b",
        r"\bcontact",
    ]
)
# Clearly outside a shop's support desk. Creative writing, games and homework are refused even when the
# message also names an order (unless it gives an order number, which shows a real request).
OFF_TOPIC_STRONG = _any(
    [
        r"\b(write|compose|create|generate|make up|tell|sing|give|draft) (me |us )?(a |an |some |another |the )?(short |funny |little |rhyming |love )?"
        r"(poem|poetry|haiku|limerick|sonnet|story|stories|bedtime story|song|lyrics|rap|essay|novel|joke|jokes|riddle|fanfic)s?\b",
        r"\b(poem|haiku|limerick|sonnet|song|rap|story|essay) (about|on|for) ",
        r"\btell me (a |another |some )?jokes?\b",
        r"\b(my|with|do) (math |maths |history |science |english |chemistry |physics )?homework\b",
        r"\bhomework\b",
        r"\bplay (a game|chess|tic tac toe|20 questions|trivia)\b",
        r"\brole ?play\b",
    ]
)
OFF_TOPIC = _any(
    [
        r"\bcapital (city )?of\b",
        r"\bwho (won|wins|is|was) (the )?(president|prime minister|king|queen|world cup|super bowl|election)\b",
        r"\bpresident of\b",
        r"\bprime minister of\b",
        r"\bmeaning of life\b",
        r"\bweather\b",
        r"\bforecast\b",
        r"\brecipes?\b",
        r"\bhow (do i|to|can i) (cook|bake|boil|grill|roast)\b",
        r"\btranslate\b",
        r"\bin (french|spanish|german|latin|japanese)\b",
        r"\b(write|debug|fix|explain) (me )?(some |a |my |this )?(python|java|javascript|typescript|c\+\+|rust|sql|html|css|code|program|script|function|regex)\b",
        r"\b(python|javascript|java|sql) (code|script|program|function)\b",
        r"\b(equation|integral|derivative|algebra|calculus|geometry|theorem|trigonometry)\b",
        r"\bwhat is \d+ ?(plus|minus|times|divided by|x|\+|-|\*|/) ?\d+\b",
        r"\bsquare root\b",
        r"\bhoroscope\b",
        r"\bzodiac\b",
        r"\bbitcoin\b",
        r"\bcrypto(currency)?\b",
        r"\bstock (tips?|market|picks?)\b",
        r"\b(football|soccer|basketball|baseball|nba|nfl|cricket|tennis) (score|scores|game|match|results?)\b",
        r"\b(movie|film|book|tv show|netflix|series) (recommendations?|suggestions?)\b",
        r"\brecommend (me )?a (movie|film|book|show)\b",
        r"\bdating advice\b",
        r"\b(girlfriend|boyfriend|wife|husband) (advice|problems)\b",
        r"\bwho (invented|discovered|wrote|painted)\b",
        r"\bhistory of (the )?(roman|world war|france|england|america|china)\b",
        r"\bspeed of light\b",
        r"\bhow far is the moon\b",
        r"\bare you (sentient|conscious|alive|human|real)\b",
        r"\bwhat is your (favou?rite|opinion)\b",
        r"\bdo you (love|like) me\b",
    ]
)
_ORDER_NUMBER = re.compile(r"(?<![\d.,$])\b(?!(?:19|20)\d\d\b)\d{4,12}\b(?![.,]\d)")


def screen_message(text: str) -> SafetyVerdict:
    """The safety screen's verdict on one customer message (already validated by the guardrails)."""
    lowered = normalise(text).lower()
    words, masked = _views(lowered)
    if SELF_HARM.search(words):
        return SafetyVerdict("self_harm", SELF_HARM_REPLY, escalate=True)
    if HARMFUL.search(words) or INTERNALS.search(words) or ATTACK.search(lowered):
        return SafetyVerdict("harmful", HARMFUL_REPLY)
    asks_for_support = bool(SUPPORT.search(words) or REQUEST.search(words))
    if not asks_for_support and (ABUSE.search(words) or ABUSE_MASKED.search(masked)):
        return SafetyVerdict("abusive", ABUSIVE_REPLY)
    if OFF_TOPIC_STRONG.search(words) and not _ORDER_NUMBER.search(words):
        return SafetyVerdict("off_topic", OFF_TOPIC_REPLY)
    if not SUPPORT.search(words) and (OFF_TOPIC.search(words) or OFF_TOPIC.search(masked)):
        return SafetyVerdict("off_topic", OFF_TOPIC_REPLY)
    return OK
