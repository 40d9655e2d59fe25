"""Hand-written intro requests, with the introductions a careful connector reads in them."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.header import Header
from email.utils import formataddr

SAM = "connector@example.com"
SAM_ALIAS = "sam@rivera.family"


@dataclass
class RequestCase:
    slug: str
    sender: str  # a From value
    subject: str
    body: str
    pairs: list[tuple[str, str]] = field(default_factory=list)  # (requester, contact) emails
    problem: bool = False  # introbot must report a problem (missing address, not a request)
    to: str = f"Sam Rivera <{SAM}>"
    cc: str | None = None
    html: bool = False
    me: tuple[str, ...] = (SAM,)
    extra_headers: str = ""
    # In the connector's Sent mail (Gmail's SENT label): by default, what the connector wrote.
    in_sent: bool | None = None

    @property
    def sent(self) -> bool:
        if self.in_sent is not None:
            return self.in_sent
        return any(address in self.sender for address in self.me)


def _from(name: str, address: str) -> str:
    return formataddr((name, address), charset="utf-8")


def render_request(case: RequestCase, number: int) -> bytes:
    subject = case.subject if case.subject.isascii() else Header(case.subject, "utf-8").encode()
    domain = case.sender.rpartition("@")[2].rstrip(">")
    head = (
        case.extra_headers
        + f"From: {case.sender}\r\nTo: {case.to}\r\n"
        + (f"Cc: {case.cc}\r\n" if case.cc else "")
        + f"Subject: {subject}\r\nDate: Mon, 23 Nov 2026 {8 + number % 10:02d}:15:00 -0800\r\n"
        f"Message-ID: <request-{number:03d}@{domain}>\r\nMIME-Version: 1.0\r\n"
    )
    kind = "html" if case.html else "plain"
    body = case.body.replace("\n", "\r\n")
    return (
        head
        + f'Content-Type: text/{kind}; charset="utf-8"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'
    ).encode("ascii") + body.encode("utf-8")


ALEX = _from("Alex Kim", "alex.kim@tidepool.io")
SAM_FROM = _from("Sam Rivera", SAM)

REQUESTS: list[RequestCase] = [
    # ---------------------------------------------------------------------- direct
    RequestCase(
        "direct-parentheses",
        ALEX,
        "Could you introduce me to Dana Whitfield?",
        "Hi Sam,\n\nI saw you worked with Dana Whitfield (dana@northwind.example) at Northwind.\n"
        "We're building cold-chain sensors and her logistics team is exactly who we'd love to\n"
        "pilot with. Would you be open to introducing us?\n\nThanks so much,\nAlex\n\n--\n"
        "Alex Kim | Co-founder, Tidepool | +1 415 555 0134",
        [("alex.kim@tidepool.io", "dana@northwind.example")],
    ),
    RequestCase(
        "direct-angle-brackets",
        _from("Hannah O'Brien", "hannah@obrien.design"),
        "intro to Marcus?",
        "Sam - could you put me in touch with Marcus Chen <marcus@chenlabs.io>? I'm pitching a\n"
        "rebrand to a couple of lab-automation startups and he'd be a great sounding board.\n\n"
        "Hannah",
        [("hannah@obrien.design", "marcus@chenlabs.io")],
    ),
    RequestCase(
        "direct-mailto-html",
        _from("Ben Carter", "ben.carter@fieldstone.co"),
        "Quick favor",
        '<html><body><div dir="ltr"><div>Hi Sam,</div><div><br></div><div>Would you be willing '
        'to introduce me to <a href="mailto:jordan@greenfield.vc">Jordan Lee</a> at Greenfield? '
        "We're raising a small seed for Fieldstone and Jordan's thesis on construction tech is "
        "spot on.</div><div><br></div><div>Best,</div><div>Ben</div></div></body></html>",
        [("ben.carter@fieldstone.co", "jordan@greenfield.vc")],
        html=True,
    ),
    RequestCase(
        "direct-contact-in-cc",
        _from("Priya Raman", "priya.raman@lumenhealth.com"),
        "Connecting with Tom",
        "Hi Sam,\n\nI've cc'd Tom here since you mentioned him at dinner - would you mind making\n"
        "a proper introduction? I'd love to hear how Harbor Bio set up their ML platform.\n\n"
        "Thanks!\nPriya",
        [("priya.raman@lumenhealth.com", "tom@harborbio.com")],
        cc="Tom Becker <tom@harborbio.com>",
    ),
    RequestCase(
        "direct-two-contacts",
        _from("Marcus Chen", "marcus@chenlabs.io"),
        "Two intros?",
        "Hey Sam,\n\nWe're opening a second lab in Europe. Would you introduce me to Anna Schmidt\n"
        "(a.schmidt@nordlicht-ventures.de) and Jonas Becker (jonas.becker@kuehlwerk.de)? Anna for\n"
        "the fundraising side, Jonas for facilities.\n\nMuch appreciated,\nMarcus",
        [
            ("marcus@chenlabs.io", "a.schmidt@nordlicht-ventures.de"),
            ("marcus@chenlabs.io", "jonas.becker@kuehlwerk.de"),
        ],
    ),
    RequestCase(
        "direct-assistant-cc",
        ALEX,
        "Intro to Grace Okafor",
        "Hi Sam,\n\nWould you introduce me to Grace Okafor (grace@okafor-law.com)? We need\n"
        "counsel for our first enterprise contracts. I've cc'd my assistant Riley\n"
        "(riley@tidepool.io) to help with scheduling.\n\nAlex",
        [("alex.kim@tidepool.io", "grace@okafor-law.com")],
        cc="Riley Park <riley@tidepool.io>",
    ),
    RequestCase(
        "direct-signature-addresses-ignored",
        ALEX,
        "Intro to Tom Becker?",
        "Sam,\n\nCould you connect me with Tom Becker (tom@harborbio.com)? He's the person to talk\n"
        "to about biologics shipping.\n\nBest,\nAlex\n\nAlex Kim | CEO, Tidepool\n"
        "alex.kim@tidepool.io | press: press@tidepool.io | +1 415 555 0134",
        [("alex.kim@tidepool.io", "tom@harborbio.com")],
    ),
    RequestCase(
        "direct-quoted-history-ignored",
        _from("Diego Ramírez", "diego@andes.vc"),
        "Re: people you should know",
        "Yes - please introduce me to Ben Carter (ben.carter@fieldstone.co)! Construction tech is\n"
        "exactly our focus this year.\n\nOn Mon, Nov 23, 2026 at 8:02 AM Sam Rivera "
        "<connector@example.com> wrote:\n> A few people you might like: Ben Carter, and Hannah "
        "O'Brien\n> (hannah@obrien.design) who did our rebrand.\n",
        [("diego@andes.vc", "ben.carter@fieldstone.co")],
    ),
    RequestCase(
        "direct-dash-form",
        _from("Grace Okafor", "grace@okafor-law.com"),
        "One intro",
        "Hi Sam,\n\nCould you connect me with Lukas? We'd like a German counterpart for a client.\n\n"
        "Lukas Weber - lukas@weber-consulting.de\n\nThank you,\nGrace",
        [("grace@okafor-law.com", "lukas@weber-consulting.de")],
    ),
    RequestCase(
        "direct-to-alias-with-cc",
        _from("Grace Okafor", "grace@okafor-law.com"),
        "Marcus Chen",
        "Sam, could you introduce me to Marcus Chen (marcus@chenlabs.io)? His lab is looking at\n"
        "IP strategy and we'd be a good fit.\n\nGrace",
        [("grace@okafor-law.com", "marcus@chenlabs.io")],
        to=f"Sam <{SAM_ALIAS}>",
        cc=f"Sam Rivera <{SAM}>",
        me=(SAM, SAM_ALIAS),
    ),
    # ------------------------------------------------------------------- forwarded
    RequestCase(
        "forward-gmail-comment-names-contact",
        SAM_FROM,
        "Fwd: intro to someone in climate VC?",
        "Maria is great - worth connecting her with Jordan Lee <jordan@greenfield.vc>.\n\n"
        "---------- Forwarded message ---------\nFrom: Maria Santos <maria@solstice.energy>\n"
        "Date: Wed, Nov 25, 2026 at 9:41 AM\nSubject: intro to someone in climate VC?\n"
        "To: Sam Rivera <connector@example.com>\n\n\nHey Sam,\n\nWe're raising a seed round for "
        "Solstice (community solar financing). Do you\nknow anyone at a climate-focused fund who'd "
        "take a first look?\n\nBest,\nMaria\n",
        [("maria@solstice.energy", "jordan@greenfield.vc")],
        to=SAM_FROM,
    ),
    RequestCase(
        "forward-outlook-body-names-contact",
        SAM_FROM,
        "FW: intro?",
        "FYI - let's do this one.\n\n________________________________\n"
        "From: Ben Carter <ben.carter@fieldstone.co>\nSent: Monday, November 23, 2026 10:04 AM\n"
        "To: Sam Rivera <connector@example.com>\nSubject: intro?\n\nHi Sam, could you introduce "
        "me to Priya Raman (priya.raman@lumenhealth.com)?\nWe want to pilot our safety sensors "
        "in a hospital build.\n\nBen\n",
        [("ben.carter@fieldstone.co", "priya.raman@lumenhealth.com")],
        to=SAM_FROM,
    ),
    RequestCase(
        "forward-apple",
        SAM_FROM,
        "Fwd: Harbor Bio",
        "Worth doing.\n\nBegin forwarded message:\n\nFrom: Hannah O'Brien <hannah@obrien.design>\n"
        "Subject: Harbor Bio\nDate: November 22, 2026 at 4:10:55 PM PST\n"
        "To: Sam Rivera <connector@example.com>\n\nSam! Would you introduce me to Tom Becker "
        "<tom@harborbio.com>? I hear Harbor Bio\nis planning a rebrand.\n\nxx Hannah\n",
        [("hannah@obrien.design", "tom@harborbio.com")],
        to=SAM_FROM,
    ),
    RequestCase(
        "forward-original-message",
        SAM_FROM,
        "FW: logistics contact",
        "Dana would be perfect for this: Dana Whitfield <dana@northwind.example>\n\n"
        "-----Original Message-----\nFrom: Alex Kim [mailto:alex.kim@tidepool.io]\n"
        "Sent: Monday, November 23, 2026 7:55 AM\nTo: Sam Rivera\nSubject: logistics contact\n\n"
        "Sam, do you know anyone running logistics at a big distributor? We'd love a pilot.\n\nAlex\n",
        [("alex.kim@tidepool.io", "dana@northwind.example")],
        to=SAM_FROM,
    ),
    RequestCase(
        "forward-french",
        SAM_FROM,
        "Fwd: Mise en relation avec Camille Durand ?",
        "\n---------- Message transféré ---------\nDe : Léa Moreau <lea.moreau@atelier-nord.fr>\n"
        "Date: jeu. 26 nov. 2026 à 15:22\nSubject: Mise en relation avec Camille Durand ?\n"
        "To: Sam Rivera <connector@example.com>\n\n\nBonjour Sam,\n\nPourriez-vous me présenter à "
        "Camille Durand (camille@maisonbleue.fr) ?\nNous cherchons un partenaire de distribution "
        "à Lyon.\n\nMerci d'avance,\nLéa\n",
        [("lea.moreau@atelier-nord.fr", "camille@maisonbleue.fr")],
        to=SAM_FROM,
    ),
    RequestCase(
        "forward-german",
        SAM_FROM,
        "WG: Vorstellung",
        "Bitte vormerken.\n\n---------- Weitergeleitete Nachricht ---------\n"
        "Von: Lukas Weber <lukas@weber-consulting.de>\nDatum: Mo., 23. Nov. 2026 um 11:02 Uhr\n"
        "Betreff: Vorstellung\nAn: Sam Rivera <connector@example.com>\n\n\nHallo Sam,\n\n"
        "könnten Sie mich mit Anna Schmidt (a.schmidt@nordlicht-ventures.de) in Kontakt "
        "bringen?\nWir suchen einen Lead-Investor.\n\nViele Grüße\nLukas\n",
        [("lukas@weber-consulting.de", "a.schmidt@nordlicht-ventures.de")],
        to=SAM_FROM,
    ),
    RequestCase(
        "forward-by-third-person-first-person-ask",
        _from("Jordan Lee", "jordan@greenfield.vc"),
        "Fwd: Solstice deck",
        "Sam - forwarding this along. Could you introduce me to Maria directly? Her email is\n"
        "maria@solstice.energy. I'd like to lead their seed.\n\n"
        "---------- Forwarded message ---------\nFrom: Solstice Energy <hello@solstice.energy>\n"
        "Date: Tue, Nov 24, 2026 at 8:00 AM\nSubject: Solstice deck\nTo: jordan@greenfield.vc\n\n"
        "Thanks for your interest! Our deck is attached.\n",
        [("jordan@greenfield.vc", "maria@solstice.energy")],
    ),
    # -------------------------------------------------------------------- notes to self
    RequestCase(
        "note-arrow-subject",
        SAM_FROM,
        "Priya Shah <priya@lumen.dev> -> Tom Becker <tom@harborbio.com>",
        "Priya is hiring her first ML engineer; Tom ran the ML platform at Harbor Bio.\n",
        [("priya@lumen.dev", "tom@harborbio.com")],
        to=SAM_FROM,
    ),
    RequestCase(
        "note-diamond-subject",
        SAM_FROM,
        "Grace Okafor <grace@okafor-law.com> <> Ben Carter <ben.carter@fieldstone.co>",
        "Ben needs a contracts lawyer for the Denver project.\n",
        [("grace@okafor-law.com", "ben.carter@fieldstone.co")],
        to=SAM_FROM,
    ),
    RequestCase(
        "note-arrow-body",
        SAM_FROM,
        "intro",
        "Tom Becker <tom@harborbio.com> -> Hannah O'Brien <hannah@obrien.design>\n\n"
        "Tom needs a brand designer for the rebrand; Hannah did ours.\n",
        [("tom@harborbio.com", "hannah@obrien.design")],
        to=SAM_FROM,
    ),
    RequestCase(
        "note-names-then-addresses",
        SAM_FROM,
        "Marcus <> Priya",
        "Marcus: marcus@chenlabs.io\nPriya: priya.raman@lumenhealth.com\n\n"
        "Both working on clinical ML, should compare notes.\n",
        [("marcus@chenlabs.io", "priya.raman@lumenhealth.com")],
        to=SAM_FROM,
    ),
    RequestCase(
        "note-unicode-arrow-parentheses",
        SAM_FROM,
        "Jordan Lee (jordan@greenfield.vc) → Diego Ramírez (diego@andes.vc)",
        "Co-investing in LatAm climate.\n",
        [("jordan@greenfield.vc", "diego@andes.vc")],
        to=SAM_FROM,
    ),
    RequestCase(
        "note-missing-addresses",
        SAM_FROM,
        "Priya <> Tom",
        "ML hiring chat.\n",
        [],
        problem=True,
        to=SAM_FROM,
    ),
    # ------------------------------------------------------------------- third party
    RequestCase(
        "third-party-colleague",
        ALEX,
        "Intro for Ana?",
        "Hi Sam,\n\nCould you introduce my colleague Ana Ruiz (ana@tidepool.io) to Dana Whitfield\n"
        "(dana@northwind.example)? Ana runs our pilots and would take the lead from here.\n\n"
        "Thanks,\nAlex",
        [("ana@tidepool.io", "dana@northwind.example")],
    ),
    RequestCase(
        "third-party-connect-and",
        _from("Ben Carter", "ben.carter@fieldstone.co"),
        "Tom + Grace",
        "Sam, would you connect Tom Becker <tom@harborbio.com> and Grace Okafor\n"
        "<grace@okafor-law.com>? Tom needs a patent lawyer and I think Grace is the best.\n\nBen",
        [("tom@harborbio.com", "grace@okafor-law.com")],
    ),
    RequestCase(
        "third-party-german",
        _from("Jonas Becker", "jonas.becker@kuehlwerk.de"),
        "Bitte bekannt machen",
        "Hallo Sam,\n\nkönnten Sie Lukas Weber (lukas@weber-consulting.de) mit Anna Schmidt\n"
        "(a.schmidt@nordlicht-ventures.de) bekannt machen? Lukas sucht Investoren.\n\nGruß\nJonas",
        [("lukas@weber-consulting.de", "a.schmidt@nordlicht-ventures.de")],
    ),
    RequestCase(
        "third-party-one-address",
        ALEX,
        "Intro for Ana",
        "Hi Sam,\n\nCould you introduce Ana (ana@tidepool.io) to someone at Northwind?\n\nAlex",
        [],
        problem=True,
    ),
    # ------------------------------------------------------------------ several contacts
    RequestCase(
        "three-contacts",
        _from("Maria Santos", "maria@solstice.energy"),
        "Investor intros",
        "Hi Sam,\n\nWe're opening our seed round. Could you introduce me to Jordan Lee\n"
        "(jordan@greenfield.vc), Diego Ramírez (diego@andes.vc) and Anna Schmidt\n"
        "(a.schmidt@nordlicht-ventures.de)?\n\nThank you!\nMaria",
        [
            ("maria@solstice.energy", "jordan@greenfield.vc"),
            ("maria@solstice.energy", "diego@andes.vc"),
            ("maria@solstice.energy", "a.schmidt@nordlicht-ventures.de"),
        ],
    ),
    # --------------------------------------------------------------------- languages
    RequestCase(
        "french-direct",
        _from("Léa Moreau", "lea.moreau@atelier-nord.fr"),
        "Mise en relation avec Camille Durand ?",
        "Bonjour Sam,\n\nPourriez-vous me présenter à Camille Durand (camille@maisonbleue.fr) ?\n"
        "Nous cherchons un partenaire de distribution à Lyon et son équipe serait idéale.\n\n"
        "Merci d'avance,\nLéa",
        [("lea.moreau@atelier-nord.fr", "camille@maisonbleue.fr")],
    ),
    RequestCase(
        "french-mettre-en-relation",
        _from("Julien Moreau", "julien.moreau@atelier-nord.fr"),
        "Une petite faveur",
        "Salut Sam,\n\nTu pourrais me mettre en relation avec Élodie Martin "
        "<elodie.martin@lumiere-conseil.fr> ?\nOn cherche un cabinet pour notre levée.\n\n"
        "Merci !\nJulien",
        [("julien.moreau@atelier-nord.fr", "elodie.martin@lumiere-conseil.fr")],
    ),
    RequestCase(
        "german-direct",
        _from("Lukas Weber", "lukas@weber-consulting.de"),
        "Kontakt zu Jonas Becker",
        "Hallo Sam,\n\nkönnten Sie mich mit Jonas Becker (jonas.becker@kuehlwerk.de) in Kontakt\n"
        "bringen? Wir planen ein Projekt zur Kühlkette.\n\nViele Grüße\nLukas",
        [("lukas@weber-consulting.de", "jonas.becker@kuehlwerk.de")],
    ),
    RequestCase(
        "spanish-direct",
        _from("Diego Ramírez", "diego@andes.vc"),
        "Presentación",
        "Hola Sam:\n\n¿Podrías presentarme a Lucía Fernández (lucia@solmar.es)? Estamos mirando\n"
        "inversiones en energía solar en España.\n\nUn abrazo,\nDiego",
        [("diego@andes.vc", "lucia@solmar.es")],
    ),
    RequestCase(
        "spanish-mailto-html",
        _from("Carmen López", "carmen.lopez@mercadoverde.mx"),
        "¿Me pones en contacto?",
        "<div>Hola Sam,</div><div><br></div><div>¿Me podrías poner en contacto con "
        '<a href="mailto:diego@andes.vc">Diego Ramírez</a>? Queremos presentarle Mercado Verde.'
        "</div><div><br></div><div>Gracias,<br>Carmen</div>",
        [("carmen.lopez@mercadoverde.mx", "diego@andes.vc")],
        html=True,
    ),
    # ---------------------------------------------------------------------- unusable
    RequestCase(
        "newsletter",
        _from("The Weekly Founder", "news@weeklyfounder.example"),
        "This week: 12 intros that changed everything",
        "This week: how a single warm intro landed a Series A. Meet the founders who did it.\n",
        [],
        problem=True,
        extra_headers="List-Unsubscribe: <mailto:unsubscribe@weeklyfounder.example>\r\n"
        "Precedence: bulk\r\n",
    ),
    RequestCase(
        "missing-address",
        ALEX,
        "Intro to Dana?",
        "Hi Sam,\n\nCould you introduce me to Dana Whitfield at Northwind? Would love to talk\n"
        "about a pilot.\n\nAlex",
        [],
        problem=True,
    ),
    RequestCase(
        "not-a-request",
        _from("Marcus Chen", "marcus@chenlabs.io"),
        "Thanks for lunch",
        "Sam - thanks for lunch yesterday! Great catching up. Let's do it again in January.\n\n"
        "Marcus",
        [],
        problem=True,
    ),
    RequestCase(
        "noreply-sender",
        _from("LinkedIn", "messages-noreply@linkedin.com"),
        "Alex Kim wants to connect with you",
        "Alex Kim (alex.kim@tidepool.io) would like to connect with you on LinkedIn.\n"
        "Accept: https://www.linkedin.com/comm/invitations\n",
        [],
        problem=True,
    ),
    RequestCase(
        "calendar-notification",
        _from("Google Calendar", "calendar-notification@google.com"),
        "Invitation: Intro call Alex <> Dana @ Thu Dec 3, 2026",
        "Alex Kim has invited you to Intro call Alex <> Dana.\n"
        "Guests: alex.kim@tidepool.io, dana@northwind.example\n",
        [],
        problem=True,
    ),
    RequestCase(
        "contact-without-address-signature-only",
        ALEX,
        "Your friend at Northwind",
        "Hi Sam,\n\nCould you introduce me to your friend at Northwind? Whoever runs logistics.\n\n"
        "Alex\n--\nAlex Kim | Tidepool | scheduling: riley@tidepool.io",
        [],
        problem=True,
    ),
    RequestCase(
        "connector-only-addresses",
        _from("Hannah O'Brien", "hannah@obrien.design"),
        "intro",
        "Sam, could you introduce me to whoever handles design at your firm? You can reach me\n"
        "here or at studio@obrien.design. Your address connector@example.com is the right one?\n",
        [],
        problem=True,
    ),
    # ----------------------------------------- written after the rules were tuned above
    RequestCase(
        "direct-would-love-to-meet",
        _from("Tom Becker", "tom@harborbio.com"),
        "Meeting Hannah",
        "Sam, I'd love to meet Hannah O'Brien (hannah@obrien.design) about our rebrand. Any chance\n"
        "you could make an intro?\n\nTom",
        [("tom@harborbio.com", "hannah@obrien.design")],
    ),
    RequestCase(
        "french-third-party",
        _from("Élodie Martin", "elodie.martin@lumiere-conseil.fr"),
        "Présentation Julien / Camille",
        "Bonjour Sam,\n\nPourrais-tu présenter Julien Moreau (julien.moreau@atelier-nord.fr) à "
        "Camille\nDurand (camille@maisonbleue.fr) ? Ils travaillent tous les deux sur la "
        "distribution.\n\nBelle journée,\nÉlodie",
        [("julien.moreau@atelier-nord.fr", "camille@maisonbleue.fr")],
    ),
    RequestCase(
        "spanish-missing-address",
        _from("Diego Ramírez", "diego@andes.vc"),
        "Presentación a Carmen",
        "Hola Sam,\n\n¿Podrías presentarme a Carmen López de Mercado Verde?\n\nGracias,\nDiego",
        [],
        problem=True,
    ),
    RequestCase(
        "note-body-diamond-parentheses",
        SAM_FROM,
        "to do",
        "Anna Schmidt (a.schmidt@nordlicht-ventures.de) <> Maria Santos (maria@solstice.energy)\n"
        "Anna's fund does climate infra.\n",
        [("a.schmidt@nordlicht-ventures.de", "maria@solstice.energy")],
        to=SAM_FROM,
    ),
    RequestCase(
        "direct-linkedin-style-with-url",
        _from("Jordan Lee", "jordan@greenfield.vc"),
        "Intro request: Diego Ramírez",
        "Hi Sam,\n\nWould you be open to introducing me to Diego Ramírez? His email is\n"
        "diego@andes.vc and his profile is https://www.linkedin.com/in/diego-ramirez-vc.\n"
        "We're looking for a LatAm co-investor.\n\nThanks,\nJordan",
        [("jordan@greenfield.vc", "diego@andes.vc")],
    ),
]

# ---- Issue 10: the kinds of request that held-out mail showed, in our own words.
PRIYA = _from("Priya Raman", "priya.raman@lumenhealth.com")
REQUESTS += [
    RequestCase(
        "contact-in-cc-named-by-first-name",
        PRIYA,
        "Intro?",
        "Sam -\n\nWould you mind connecting me with Tom? I've copied him here so you have his\n"
        "address. We're hiring a head of lab automation and he knows everyone.\n\nPriya\n",
        [("priya.raman@lumenhealth.com", "tom@harborbio.com")],
        cc="Tom Becker <tom@harborbio.com>",
    ),
    RequestCase(
        "contact-in-cc-with-assistant-too",
        ALEX,
        "Meeting Grace",
        "Hi Sam,\n\nGrace is cc'd (and her assistant Morgan, who keeps her diary). Could you\n"
        "introduce us? We need advice on a data-sharing agreement.\n\nThanks,\nAlex\n",
        [("alex.kim@tidepool.io", "grace@okafor-law.com")],
        cc="Grace Okafor <grace@okafor-law.com>, Morgan Ellis <morgan@okafor-law.com>",
    ),
    RequestCase(
        "no-reply-platform-notification",
        _from("Events Platform", "noreply@events.example"),
        "Someone wants to meet you",
        "Jordan Lee (jordan@greenfield.vc) would like an introduction to Ben Carter\n"
        "(ben.carter@fieldstone.co). Reply to this message to respond.\n",
        problem=True,
    ),
    RequestCase(
        "do-not-reply-sender",
        _from("Portal", "do-not-reply@portal.example"),
        "New intro request",
        "A member asked to be introduced to Dana Whitfield <dana@northwind.example>.\n",
        problem=True,
    ),
    RequestCase(
        "forwardable-blurb-section",
        ALEX,
        "Intro to Marcus Chen at Chen Labs",
        "Hi Sam,\n\nCould you introduce me to Marcus Chen (marcus@chenlabs.io)?\n\n"
        "Blurb you can forward:\nAlex Kim co-founded Tidepool, which monitors vaccines in transit.\n"
        "He'd value 20 minutes with Marcus on sensor calibration.\n\nThank you!\nAlex\n",
        [("alex.kim@tidepool.io", "marcus@chenlabs.io")],
    ),
    RequestCase(
        "greeting-names-a-colleague",
        ALEX,
        "Could you connect me with Hannah?",
        "Hi Sam and Jamie,\n\nJamie mentioned you both know Hannah O'Brien. Sam, would you\n"
        "introduce me to her? Her address is hannah@obrien.design.\n\nAlex\n",
        [("alex.kim@tidepool.io", "hannah@obrien.design")],
    ),
    RequestCase(
        "greeting-names-the-contact-cc",
        PRIYA,
        "Hello!",
        "Hi Sam, hi Jordan,\n\nSam, Jordan is on cc. Could you make the introduction between\n"
        "us two? Jordan invests in diagnostics and we're raising.\n\nBest,\nPriya\n",
        [("priya.raman@lumenhealth.com", "jordan@greenfield.vc")],
        cc="Jordan Lee <jordan@greenfield.vc>",
    ),
]

# A note "to self" that Gmail did not authenticate and that is not in Sent: forged.
REQUESTS += [
    RequestCase(
        "forged-note-to-self",
        SAM_FROM,
        "Priya <priya.raman@lumenhealth.com> -> Ben <ben.carter@fieldstone.co>",
        "Dana asked me to pass this on: https://example.net/deck\n",
        problem=True,
        in_sent=False,
        extra_headers=(
            "Authentication-Results: mx.google.com; spf=fail smtp.mailfrom=example.com;"
            " dmarc=fail (p=NONE) header.from=example.com\r\n"
        ),
    ),
]
