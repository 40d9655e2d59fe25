"""Hand-written replies to consent messages, each with the verdict a careful person gives.

Replies by people are rendered by ``render.py`` in the style of a mail client; automated
mail (auto-replies, bounces) is written out whole in ``automated_cases.py``.
"""

from __future__ import annotations

from tests.corpus.render import Party, Reply

DANA = Party("Dana Whitfield", "dana@northwind.example")
MARCUS = Party("Marcus Chen", "marcus@chenlabs.io")
PRIYA = Party("Priya Raman", "priya.raman@lumenhealth.com")
JORDAN = Party("Jordan Lee", "jordan@greenfield.vc")
HANNAH = Party("Hannah O'Brien", "hannah@obrien.design")
TOM = Party("Tom Becker", "tom@harborbio.com")
GRACE = Party("Grace Okafor", "grace@okafor-law.com")
BEN = Party("Ben Carter", "ben.carter@fieldstone.co")
CAMILLE = Party("Camille Durand", "camille@maisonbleue.fr")
JULIEN = Party("Julien Moreau", "julien.moreau@atelier-nord.fr")
ELODIE = Party("Élodie Martin", "elodie.martin@lumiere-conseil.fr")
JONAS = Party("Jonas Becker", "jonas.becker@kuehlwerk.de")
ANNA = Party("Anna Schmidt", "a.schmidt@nordlicht-ventures.de")
LUKAS = Party("Lukas Weber", "lukas@weber-consulting.de")
LUCIA = Party("Lucía Fernández", "lucia@solmar.es")
DIEGO = Party("Diego Ramírez", "diego@andes.vc")
CARMEN = Party("Carmen López", "carmen.lopez@mercadoverde.mx")

SIG_DANA = "Dana Whitfield\nVP Logistics | Northwind\nNo calls on weekends, please."
SIG_MARCUS = "--\nMarcus Chen\nFounder, Chen Labs\nhttps://chenlabs.io | no meetings before 10am PT"
SIG_GRACE = "Best,\nGrace\n\nGrace Okafor | Partner\nOkafor Law LLP\nNot legal advice unless engaged in writing."
LEGAL = (
    "CONFIDENTIALITY NOTICE: This e-mail message, including any attachments, is for the sole\n"
    "use of the intended recipient(s) and may contain confidential and privileged information.\n"
    "Any unauthorized review, use, disclosure or distribution is prohibited. If you are not the\n"
    "intended recipient, please contact the sender by reply e-mail and destroy all copies of the\n"
    "original message. No waiver of privilege is intended and no contract is formed."
)
LEGAL_DE = (
    "Diese E-Mail enthält vertrauliche und/oder rechtlich geschützte Informationen. Wenn Sie\n"
    "nicht der richtige Adressat sind, informieren Sie bitte sofort den Absender und\n"
    "vernichten Sie diese Mail. Das unerlaubte Kopieren ist nicht gestattet."
)

INTERLEAVED_YES = (
    "> Would you be open to it? Just reply yes and I'll connect you both, or no - no hard\n"
    "> feelings, and no need to explain.\n"
    "Yes, definitely.\n"
    ">\n"
    "> If yes, how do you prefer to be reached?\n"
    "Email is best."
)
INTERLEAVED_NO = (
    "> Would you be open to it? Just reply yes and I'll connect you both, or no - no hard\n"
    "> feelings, and no need to explain.\n"
    "No, sorry - we're committed elsewhere.\n"
    ">\n"
    "> If yes, how do you prefer to be reached?\n"
    "n/a"
)

REPLIES: list[Reply] = [
    # ------------------------------------------------------------------- yes, English
    Reply("happy-to", "yes", "Yes, happy to! Email is the best way to reach me.", DANA),
    Reply(
        "sure-thing-iphone", "yes", "Sure thing - go ahead and connect us.", MARCUS, style="iphone"
    ),
    Reply(
        "absolutely-outlook-signature",
        "yes",
        "Absolutely, I'd love to meet Alex. Feel free to share my email.",
        DANA,
        style="outlook",
        signature=SIG_DANA,
    ),
    Reply(
        "no-problem-happy-to-help",
        "yes",
        "No problem, happy to help. Tuesdays and Thursdays are usually easiest for me.",
        PRIYA,
    ),
    Reply(
        "yes-please-apple",
        "yes",
        "Yes please! Alex's work sounds really interesting.",
        HANNAH,
        style="apple",
    ),
    Reply(
        "happy-to-connect-email",
        "yes",
        "Happy to connect. Email works: marcus@chenlabs.io",
        MARCUS,
        signature=SIG_MARCUS,
    ),
    Reply(
        "sounds-great-html-only",
        "yes",
        "Sounds great - please go ahead and make the intro.",
        JORDAN,
        style="html_gmail",
    ),
    Reply(
        "go-ahead-thunderbird",
        "yes",
        "Yes, go ahead. Phone is best: +1 617 555 0199.",
        TOM,
        style="thunderbird",
    ),
    Reply("bottom-posted-yes", "yes", "Yes, please do.", BEN, style="bottom"),
    Reply("interleaved-yes", "yes", INTERLEAVED_YES, GRACE, style="interleaved"),
    Reply(
        "of-course-friend",
        "yes",
        "Hi Sam,\n\nOf course! Any friend of yours is a friend of mine.\n\nCheers,\nJordan",
        JORDAN,
    ),
    Reply(
        "count-me-in", "yes", "Count me in. Thanks for thinking of me, Sam.", HANNAH, style="apple"
    ),
    Reply("yep-go-for-it", "yes", "Yep, go for it.", TOM, style="iphone"),
    Reply(
        "would-love-to",
        "yes",
        "Would love to. I've been meaning to look into cold-chain monitoring anyway.",
        BEN,
        style="outlook",
    ),
    Reply(
        "glad-to-assistant",
        "yes",
        "I'd be glad to chat with Alex. My assistant Jamie (jamie@northwind.example) keeps my\n"
        "calendar, so please cc her on the intro.",
        DANA,
    ),
    Reply(
        "delighted-emoji-base64",
        "yes",
        "Yes - delighted to. Send them my way 🙂",
        PRIYA,
        encoding="base64",
    ),
    Reply(
        "go-ahead-legal-disclaimer",
        "yes",
        "Sounds good, go ahead.",
        GRACE,
        style="outlook",
        signature="Grace Okafor\nOkafor Law LLP\n\n" + LEGAL,
    ),
    Reply(
        "interested-original-message",
        "yes",
        "Yes, I'm interested. Please connect us.",
        MARCUS,
        style="original",
    ),
    Reply(
        "sure-mornings",
        "yes",
        "Sure, happy to. Mornings Pacific time tend to work best.",
        JORDAN,
        signature="Jordan",
    ),
    Reply(
        # An anecdote is not an answer, thanks, a preference or warm words: the whole reply
        # is not explained, so the connector takes the one glance (issue 10's rule).
        "definitely-overlapped",
        "unclear",
        "Definitely - Alex and I actually overlapped at a conference last year. Go ahead!",
        HANNAH,
    ),
    Reply(
        "pasted-prompt",
        "yes",
        "yes!",
        TOM,
        style="pasted",
    ),
    Reply("ok-go-ahead", "yes", "Ok, go ahead.", BEN, style="iphone"),
    Reply(
        "would-be-great-signature-grace",
        "yes",
        "That would be great, thank you Sam.",
        GRACE,
        signature=SIG_GRACE,
    ),
    Reply(
        "love-to-intro", "yes", "Love to. Please intro us over email.", PRIYA, style="html_outlook"
    ),
    Reply(
        "happy-to-help-where-i-can",
        "yes",
        "Happy to help where I can - feel free to connect us.\n\nBest,\nDana",
        DANA,
        style="apple",
    ),
    # ------------------------------------------------------------- yes, other languages
    Reply(
        "fr-oui-avec-plaisir",
        "yes",
        "Oui, avec plaisir !\n\nÀ bientôt,\nCamille",
        CAMILLE,
        lang="fr",
        style="outlook",
        charset="iso-8859-1",
    ),
    Reply(
        "fr-bien-sur-volontiers",
        "yes",
        "Bien sûr, volontiers. Le mail est le plus simple pour moi.",
        JULIEN,
        lang="fr",
    ),
    Reply(
        "fr-grand-plaisir",
        "yes",
        "Avec grand plaisir, mettez-nous en relation.\n\nBien cordialement,\nÉlodie Martin",
        ELODIE,
        lang="fr",
        style="apple",
    ),
    Reply(
        "fr-daccord-pas-de-souci",
        "yes",
        "D'accord, pas de souci.",
        CAMILLE,
        lang="fr",
        style="iphone",
    ),
    Reply(
        "fr-partant-html",
        "yes",
        "Oui volontiers, je suis partant.",
        JULIEN,
        lang="fr",
        style="html_outlook",
        charset="windows-1252",
    ),
    Reply("de-ja-gerne", "yes", "Ja, gerne!\n\nViele Grüße\nJonas", JONAS, lang="de"),
    Reply(
        "de-sehr-gerne-outlook",
        "yes",
        "Sehr gerne, stellen Sie uns gern per E-Mail vor.",
        ANNA,
        lang="de",
        style="outlook",
        charset="windows-1252",
        signature="Anna Schmidt\nPartnerin | Nordlicht Ventures\n\n" + LEGAL_DE,
    ),
    Reply("de-klar-kein-problem", "yes", "Klar, kein Problem.", LUKAS, lang="de", style="iphone"),
    Reply(
        "de-gerne-spannend", "yes", "Gerne, das klingt spannend.", JONAS, lang="de", style="apple"
    ),
    Reply(
        "de-auf-jeden-fall",
        "yes",
        "Auf jeden Fall - bitte vorstellen.",
        ANNA,
        lang="de",
        style="original",
        charset="iso-8859-1",
    ),
    Reply("es-si-claro", "yes", "¡Sí, claro! Encantada de conocerle.", LUCIA, lang="es"),
    Reply("es-por-supuesto", "yes", "Por supuesto, adelante.", DIEGO, lang="es", style="outlook"),
    Reply(
        "es-con-mucho-gusto",
        "yes",
        "Con mucho gusto. El correo es el mejor medio para contactarme.\n\nSaludos,\nCarmen",
        CARMEN,
        lang="es",
        style="apple",
    ),
    Reply("es-si-sin-problema", "yes", "Sí, sin problema.", DIEGO, lang="es", style="iphone"),
    Reply(
        "es-perfecto-html",
        "yes",
        "Perfecto, preséntanos.",
        LUCIA,
        lang="es",
        style="html_gmail",
        charset="iso-8859-1",
    ),
    Reply("yes-thunderbird-short", "yes", "Yes.", GRACE, style="thunderbird"),
    Reply(
        "absolutely-bottom",
        "yes",
        "Absolutely, please connect us.\n\nHannah",
        HANNAH,
        style="bottom",
    ),
    Reply(
        "happy-to-chat-original",
        "yes",
        "Thanks Sam - happy to chat with Alex.",
        TOM,
        style="original",
    ),
    Reply(
        "sure-why-not",
        "yes",
        "Sure, why not. Send over the intro.",
        JORDAN,
        style="iphone",
    ),
    Reply(
        "keen-html",
        "yes",
        "Keen! Please go ahead.",
        BEN,
        style="html_gmail",
    ),
    # --------------------------------------------------------------------- no, English
    Reply("no-thanks-fit", "no", "No thanks - not a fit for us right now.", DANA),
    Reply(
        "pass-but-thanks",
        "no",
        "I'll pass on this one, but thanks for checking with me first.",
        MARCUS,
        style="iphone",
    ),
    Reply(
        "plate-full-q2",
        "no",
        "My plate is full through Q2, so I'll have to sit this one out.",
        PRIYA,
        style="outlook",
    ),
    Reply(
        "not-taking-calls",
        "no",
        "Thanks for thinking of me, but I'm not taking on new advisory calls at the moment.",
        JORDAN,
    ),
    Reply(
        "no-bandwidth",
        "no",
        "Unfortunately I don't have the bandwidth for this right now.",
        HANNAH,
        style="apple",
    ),
    Reply(
        "rather-not-exclusive",
        "no",
        "I'd rather not, sorry. We have an exclusive arrangement with another vendor.",
        TOM,
    ),
    Reply(
        "dont-share-details",
        "no",
        "Please don't share my details - not interested.",
        GRACE,
        style="html_outlook",
    ),
    Reply("bare-no-iphone", "no", "No.", BEN, style="iphone"),
    Reply(
        "going-to-pass-good-luck",
        "no",
        "Going to pass. Good luck to Alex, though!",
        DANA,
        signature=SIG_DANA,
    ),
    Reply(
        "swamped-launch",
        "no",
        "Appreciate you asking first. I'm swamped with the launch and can't take on anything new.",
        MARCUS,
        style="thunderbird",
    ),
    Reply(
        "not-right-time-contract",
        "no",
        "Not the right time for us - we just signed a multi-year contract.",
        PRIYA,
        style="original",
    ),
    Reply(
        "say-no-nothing-personal",
        "no",
        "I'm going to say no to this one. Nothing personal!",
        JORDAN,
        style="apple",
    ),
    Reply(
        "not-right-person",
        "no",
        "Sorry Sam, I'm not the right person for this. Our ops team handles vendors.",
        HANNAH,
    ),
    Reply(
        "decline-this-year",
        "no",
        "We're not looking at new sensor vendors this year, so I'll decline.",
        TOM,
        style="html_outlook",
    ),
    Reply(
        "honestly-not-interested",
        "no",
        "Honestly not interested in cold-chain at all. Thanks though.",
        BEN,
        style="html_gmail",
    ),
    Reply("bottom-no-thanks", "no", "No thanks.", GRACE, style="bottom"),
    Reply(
        "not-for-me-disclaimer",
        "no",
        "Not for me, thanks.",
        GRACE,
        style="outlook",
        signature="Grace Okafor\n\n" + LEGAL,
    ),
    Reply(
        "capacity-summer",
        "no",
        "I'm at capacity until the summer - please don't pass my details on.",
        DANA,
        style="iphone",
    ),
    Reply("nope-sorry", "no", "Nope, sorry!", MARCUS),
    Reply(
        "decline-quiet-period",
        "no",
        "I'll have to decline - we're in a quiet period before our raise.",
        JORDAN,
        style="outlook",
    ),
    Reply("too-busy", "no", "Too busy at the moment, sorry.", PRIYA, style="iphone"),
    Reply(
        "respectfully-decline-conflict",
        "no",
        "Respectfully decline - it conflicts with one of our portfolio companies.",
        JORDAN,
        signature="Jordan Lee\nGreenfield Ventures",
    ),
    Reply("interleaved-no", "no", INTERLEAVED_NO, HANNAH, style="interleaved"),
    Reply(
        "doesnt-make-sense",
        "no",
        "Thanks Sam, but this doesn't make sense for me right now.",
        TOM,
        style="apple",
    ),
    Reply(
        "stopped-taking-intros",
        "no",
        "We've stopped taking intro calls while we restructure. Sorry!",
        BEN,
    ),
    # --------------------------------------------------------------- no, other languages
    Reply(
        "fr-non-merci",
        "no",
        "Non merci, ce n'est pas le bon moment.",
        CAMILLE,
        lang="fr",
        charset="iso-8859-1",
    ),
    Reply(
        "fr-debordee-mars",
        "no",
        "Malheureusement je suis débordée jusqu'en mars.",
        ELODIE,
        lang="fr",
        style="outlook",
    ),
    Reply(
        "fr-prefere-ne-pas",
        "no",
        "Je préfère ne pas donner suite, merci de m'avoir demandé.",
        JULIEN,
        lang="fr",
        style="apple",
    ),
    Reply("fr-pas-interesse", "no", "Pas intéressé, désolé.", JULIEN, lang="fr", style="iphone"),
    Reply("de-nein-danke", "no", "Nein danke, kein Interesse.", LUKAS, lang="de"),
    Reply(
        "de-keine-kapazitaeten",
        "no",
        "Leider habe ich im Moment keine Kapazitäten.",
        ANNA,
        lang="de",
        style="outlook",
        charset="iso-8859-1",
    ),
    Reply(
        "de-absagen-anbieter",
        "no",
        "Ich muss leider absagen - wir arbeiten bereits mit einem anderen Anbieter.",
        JONAS,
        lang="de",
        style="original",
    ),
    Reply(
        "es-no-gracias",
        "no",
        "No, gracias. No es buen momento.",
        DIEGO,
        lang="es",
    ),
    Reply(
        "es-muy-ocupada",
        "no",
        "Lamentablemente estoy muy ocupada hasta marzo.",
        CARMEN,
        lang="es",
        style="outlook",
    ),
    Reply(
        "es-prefiero-no",
        "no",
        "Prefiero no, pero gracias por preguntar.",
        LUCIA,
        lang="es",
        style="iphone",
    ),
    # -------------------------------------------------------------------------- unclear
    Reply("yes-but-march", "unclear", "yes, but not until March", DANA),
    Reply(
        "maybe-what-does",
        "unclear",
        "Maybe - what does Tidepool actually do?",
        MARCUS,
        style="iphone",
    ),
    Reply(
        "sure-if-one-pager",
        "unclear",
        "Sure, if Alex can send a one-pager first.",
        PRIYA,
    ),
    Reply(
        "possibly-check-team",
        "unclear",
        "Possibly. Let me check with my team and get back to you.",
        JORDAN,
        style="outlook",
    ),
    Reply(
        "happy-after-board",
        "unclear",
        "Happy to, but only after our board meeting on the 15th.",
        HANNAH,
        style="apple",
    ),
    Reply(
        "who-is-alex",
        "unclear",
        "Who is Alex? Never heard of Tidepool.",
        TOM,
    ),
    Reply(
        "think-weekend",
        "unclear",
        "Let me think about it over the weekend.",
        GRACE,
        style="iphone",
    ),
    Reply(
        "might-later",
        "unclear",
        "I might be open to it later in the year.",
        BEN,
        style="thunderbird",
    ),
    Reply(
        "yes-and-no",
        "unclear",
        "Yes and no - depends on what they want from us.",
        DANA,
    ),
    Reply(
        "tell-me-more-what",
        "unclear",
        "Can you tell me more about what they're looking for?",
        MARCUS,
        style="html_gmail",
    ),
    Reply(
        "sure-best-way-question",
        "unclear",
        "Sure - what's the best way for them to reach me, your email or LinkedIn?",
        PRIYA,
    ),
    Reply(
        "probably-traveling",
        "unclear",
        "Probably fine, but I'm traveling for the next two weeks.",
        JORDAN,
        style="iphone",
    ),
    Reply("i-guess-so", "unclear", "I guess so?", HANNAH, style="iphone"),
    Reply(
        "not-sure-relevant-deck",
        "unclear",
        "Not sure this is relevant to me, but I'll take a look at their deck if you send it.",
        TOM,
        style="outlook",
    ),
    Reply(
        "yes-in-principle-holidays",
        "unclear",
        "Yes in principle. Let's revisit after the holidays.",
        GRACE,
    ),
    Reply("interesting-tell-more", "unclear", "Interesting! Tell me more.", BEN),
    Reply(
        "happy-once-round",
        "unclear",
        "Happy to chat once we close our round.",
        DANA,
        style="apple",
    ),
    Reply(
        "call-me-tomorrow",
        "unclear",
        "Call me tomorrow and let's discuss.",
        MARCUS,
        style="iphone",
    ),
    Reply(
        "love-to-not-sure-help",
        "unclear",
        "I'd love to but honestly I'm not sure I can help them.",
        PRIYA,
    ),
    Reply(
        "looping-cofounder",
        "unclear",
        "Thanks for asking. Looping in my cofounder Kim to decide.",
        JORDAN,
        style="outlook",
    ),
    Reply("thumbs-up-emoji", "unclear", "👍", HANNAH, style="iphone"),
    Reply("ok-question", "unclear", "ok?", TOM, style="iphone"),
    Reply("forged-yes", "unclear", "Yes, happy to!", DANA, auth="fail"),
    Reply("forged-softfail", "unclear", "Sure, go ahead.", MARCUS, auth="softfail"),
    Reply(
        "forged-absolutely-html",
        "unclear",
        "Absolutely, connect us.",
        JORDAN,
        style="html_gmail",
        auth="fail",
    ),
    Reply(
        "fr-peut-etre-janvier",
        "unclear",
        "Peut-être, mais pas avant janvier.",
        CAMILLE,
        lang="fr",
    ),
    Reply(
        "fr-oui-si-rapide",
        "unclear",
        "Oui, mais seulement si c'est rapide.",
        JULIEN,
        lang="fr",
        style="iphone",
    ),
    Reply("fr-qui-est-alex", "unclear", "Qui est Alex exactement ?", ELODIE, lang="fr"),
    Reply(
        "de-vielleicht-details",
        "unclear",
        "Vielleicht, können Sie mir mehr Details schicken?",
        ANNA,
        lang="de",
        style="outlook",
    ),
    Reply("de-ja-aber-ostern", "unclear", "Ja, aber erst nach Ostern.", LUKAS, lang="de"),
    Reply(
        "es-quizas-adelante", "unclear", "Quizás más adelante.", DIEGO, lang="es", style="iphone"
    ),
    Reply(
        "es-si-pero-fiestas",
        "unclear",
        "Sí, pero después de las fiestas.",
        CARMEN,
        lang="es",
    ),
    Reply(
        "yes-no-get-back",
        "unclear",
        "Yes. No. Let me get back to you.",
        BEN,
        style="iphone",
    ),
    Reply(
        "off-topic-thanks",
        "unclear",
        "Thanks! Was great seeing you at the offsite last week.",
        GRACE,
    ),
    Reply(
        "happy-if-fifteen",
        "unclear",
        "Happy to if it's only 15 minutes.",
        DANA,
        style="html_outlook",
    ),
    # ----------------------------------------- written after the rules were tuned above
    Reply(
        "yes-ea-scheduling",
        "yes",
        "Yes - and my EA Morgan (morgan@greenfield.vc) can find a time that works.",
        JORDAN,
        style="outlook",
    ),
    Reply(
        "de-gerne-melden", "yes", "Gerne, Alex kann sich direkt bei mir melden.", LUKAS, lang="de"
    ),
    Reply(
        "decline-understanding",
        "no",
        "I'm going to decline, thank you for understanding.",
        PRIYA,
        style="apple",
    ),
    Reply("thanks-but-no-thanks", "no", "Thanks, but no thanks.", MARCUS, style="iphone"),
    Reply(
        "sure-january-question",
        "unclear",
        "Sure, but can we do it in January?",
        HANNAH,
    ),
    Reply(
        "ask-cofounder-first",
        "unclear",
        "Let me ask my cofounder first.",
        BEN,
        style="outlook",
    ),
    Reply("fr-tres-volontiers", "yes", "Très volontiers !", ELODIE, lang="fr", style="iphone"),
    Reply("es-no-me-interesa", "no", "No me interesa, gracias.", CARMEN, lang="es"),
    Reply(
        "great-go-ahead-signature-first-name",
        "yes",
        "Great, go ahead and send the intro.\n\nTom\nHarbor Bio | Not in office on Fridays",
        TOM,
    ),
    Reply(
        "not-a-good-fit-polite",
        "no",
        "Thank you for thinking of me. After looking at Tidepool's site, I don't think we're a\n"
        "good fit, so I'll pass for now.",
        DANA,
        style="html_outlook",
    ),
    Reply(
        "happy-to-question-html",
        "unclear",
        "Happy to! Is Alex based in SF?",
        GRACE,
        style="html_gmail",
    ),
    Reply(
        "yes-forwarded-from-other-account",
        "yes",
        "Yes, happy to meet Alex.",
        Party("Dana W.", "dana.whitfield@gmail.example"),
        style="iphone",
    ),
]

# ---- Issue 10: kinds of failure found on mail the project did not write, in our own words.
# A word that says yes in another language must not make an English sentence a yes.
REPLIES += [
    Reply("super-swamped-this-month", "no", "Super swamped at the moment, sorry.", MARCUS),
    Reply(
        "in-the-middle-of-a-move",
        "no",
        "I'm in the middle of moving house right now, apologies.",
        HANNAH,
    ),
    Reply("lets-pick-this-up-another-time", "no", "Let's do this another time.", BEN),
    Reply(
        "let-me-make-sure-first",
        "unclear",
        "Sure thing - let me make sure our legal team is fine with it first.",
        GRACE,
    ),
    Reply("pass-alone", "no", "Pass, thanks.", JORDAN),
    Reply(
        "prefer-not-to-be-introduced", "no", "I'd prefer not to be connected at the moment.", PRIYA
    ),
    Reply(
        "dont-think-right-person", "no", "Honestly I don't think I'm the best person for this.", TOM
    ),
    Reply("not-available-these-weeks", "no", "I'm not available for new calls.", DANA),
    Reply("too-stretched", "no", "Too stretched with the launch, sorry!", MARCUS),
    Reply("have-other-plans-team", "no", "We have other plans for that budget, so no.", JORDAN),
    # A yes whose every sentence is accounted for: thanks, a preference, warm words.
    Reply(
        "yes-with-phone-preference",
        "yes",
        "Yes, glad to. Phone is easiest for me: +1 415 555 0142.",
        HANNAH,
    ),
    Reply("yes-with-warm-words", "yes", "Happy to connect! Sounds like a promising team.", BEN),
    Reply(
        "yes-with-greeting-and-thanks",
        "yes",
        "Hi Sam,\n\nThanks for checking first. Sure, go ahead.\n\nBest,\nPriya",
        PRIYA,
    ),
    Reply("yes-send-them-my-way", "yes", "Of course, send them my way.", JORDAN),
    # Left over: a sentence that is none of the above makes a yes unclear.
    Reply(
        "yes-then-an-unexplained-sentence",
        "unclear",
        "Yes, happy to. My cofounder handles partnerships these days.",
        MARCUS,
    ),
    Reply(
        "yes-then-an-aside", "unclear", "Sure. We met once at a dinner and it was awkward.", DANA
    ),
    Reply("open-to-it-only", "unclear", "I'm open to it.", TOM),
    Reply("pretty-sure-free", "unclear", "I'm pretty sure I can find time.", GRACE),
    # Clause scope: a condition or a deferral in its own clause still stops a yes.
    Reply(
        "sure-but-after-the-board-meeting",
        "unclear",
        "Sure - but only after our board meeting.",
        HANNAH,
    ),
    Reply("yes-and-no-depends", "unclear", "Yes and no; it depends on what they need.", BEN),
    Reply("no-unless-hiring", "unclear", "No, unless they are hiring engineers.", JORDAN),
    # Busy now but opening a door later is not a decline to act on.
    Reply("busy-until-spring", "unclear", "Busy until the spring, sorry.", PRIYA),
    # Other languages: their own words, not English's.
    Reply(
        "de-super-gerne-email", "yes", "Super, gerne! Per E-Mail ist am besten.", JONAS, lang="de"
    ),
    Reply(
        "fr-pas-dispo", "no", "Désolée, je ne suis pas disponible en ce moment.", ELODIE, lang="fr"
    ),
    Reply("es-si-encantado", "yes", "Sí, encantado de conocerle.", DIEGO, lang="es"),
]
