"""What customers and agents write to a helpdesk, written by hand for the generator.

Kept independent of the cleaning and of the sentiment lexicon on purpose (no import of vaderSentiment or of
anything under dbt_project/): the texts are how people write to a shop's support, in the languages its
customers write in, so a sentiment score measured on them was not tuned to them. `{order}`, `{contact}` and
`{name}` are filled in by the generator; `{contact}` is where a customer leaves an email or phone in the text.
"""

from __future__ import annotations

LANGUAGE_OF_COUNTRY: dict[str, str] = {"DE": "de", "AT": "de", "CH": "de", "FR": "fr", "BE": "fr", "NL": "nl",
                                       "ES": "es", "MX": "es"}  # fmt: skip
"""Language a customer of that country writes in (anything else: English)."""

SUBJECTS: dict[str, tuple[str, ...]] = {
    "en": ("Where is my order {order}?", "Refund for order {order}", "Wrong size delivered", "Love the new jacket",
           "Package arrived damaged", "Question about my account", "Cancel my subscription please"),
    "de": ("Wo bleibt meine Bestellung {order}?", "Rückerstattung für {order}", "Falsche Größe geliefert"),
    "fr": ("Où est ma commande {order} ?", "Remboursement de la commande {order}", "Colis abîmé"),
    "nl": ("Waar blijft mijn bestelling {order}?", "Terugbetaling bestelling {order}", "Verkeerde maat"),
    "es": ("¿Dónde está mi pedido {order}?", "Reembolso del pedido {order}", "Paquete dañado"),
}  # fmt: skip

UNHAPPY: dict[str, tuple[str, ...]] = {
    "en": ("My order {order} still hasn't arrived after two weeks. This is really frustrating and nobody answers.",
           "The parcel came damaged and the zipper is broken. I am very disappointed, terrible quality.",
           "I was charged twice for {order}!! Awful service, I want my money back now.",
           "Nobody has replied to my last three emails. Worst support ever."),
    "de": ("Meine Bestellung {order} ist immer noch nicht da. Sehr ärgerlich!",
           "Das Paket war beschädigt, ich bin wirklich enttäuscht."),
    "fr": ("Ma commande {order} n'est toujours pas arrivée. C'est inadmissible.",
           "Le colis est arrivé abîmé, je suis très déçue."),
    "nl": ("Mijn bestelling {order} is na twee weken nog steeds niet binnen. Heel vervelend.",
           "Het pakket was beschadigd, ik ben echt teleurgesteld."),
    "es": ("Mi pedido {order} todavía no ha llegado. Estoy muy molesto.",
           "El paquete llegó dañado, qué decepción."),
}  # fmt: skip

NEUTRAL: dict[str, tuple[str, ...]] = {
    "en": ("Could you tell me when order {order} will ship?", "How do I change the delivery address for {order}?",
           "Do you ship to the Canary Islands?"),
    "de": ("Wann wird die Bestellung {order} verschickt?",),
    "fr": ("Quand la commande {order} sera-t-elle expédiée ?",),
    "nl": ("Wanneer wordt bestelling {order} verzonden?",),
    "es": ("¿Cuándo se enviará el pedido {order}?",),
}  # fmt: skip

HAPPY: dict[str, tuple[str, ...]] = {
    "en": ("Thanks so much, the replacement arrived and it's perfect. Great service!",
           "Love it, thank you for the quick help :)", "All sorted now, you were really helpful."),
    "de": ("Vielen Dank, alles bestens!",),
    "fr": ("Merci beaucoup, tout est parfait !",),
    "nl": ("Bedankt, alles is opgelost!",),
    "es": ("¡Muchas gracias, todo perfecto!",),
}  # fmt: skip

PHONE_LINES: dict[str, tuple[str, ...]] = {
    "en": ("You can reach me on {contact}.", "Please call me back at {contact}."),
    "de": ("Sie erreichen mich unter {contact}.",),
    "fr": ("Vous pouvez me joindre au {contact}.",),
    "nl": ("U kunt mij bereiken op {contact}.",),
    "es": ("Pueden llamarme al {contact}.",),
}
EMAIL_LINES: dict[str, tuple[str, ...]] = {
    "en": ("My other email is {contact}.", "Please reply to {contact} instead."),
    "de": ("Bitte antworten Sie an {contact}.",),
    "fr": ("Merci de répondre à {contact}.",),
    "nl": ("Antwoord graag naar {contact}.",),
    "es": ("Por favor respondan a {contact}.",),
}
"""A customer leaving a contact in the message text: what erasure must remove with the ticket."""

AGENT_REPLIES: tuple[str, ...] = (
    "Hi {name}, thanks for reaching out. I've looked into {order} and escalated it to our warehouse.",
    "Hi {name}, sorry about that! A replacement is on its way; you'll get a tracking link by email.",
    "Hi {name}, I've issued a refund for {order}. It should show up within 5 business days.",
)
AGENT_NAMES = ("Sam Support", "Alex Agent", "Robin Helpdesk")
TAGS = ("shipping", "refund", "damaged", "sizing", "account", "vip", "billing")
