"""Personal data out of a citizen's sentence, so that the sentence itself can be kept.

The statistics keep the questions the assistant could not answer (analytics/) for the content
team: the words of the question are worth keeping, the e-mail, the phone number, the file
number, the name and the address in it are not. `mask` replaces each with a placeholder that
still says what was there (« [e-mail] », « [adresse] »…), so that « je m'appelle Jeanne
Martin, mon rdv RDV-7KQ2PX » becomes « je m'appelle [nom], mon rdv [référence] »: the content
team reads the question, nobody reads the citizen.

Regular expressions written here rather than a named-entity model: what must go is a short
list of shapes (French phone numbers, our own references, « je m'appelle … », « 12 rue … »),
a model would miss the references and cost seconds per batch, and a miss must lean towards
masking too much (a street name is masked with its number, a 5-digit number with the
postcodes). The log filter of the Rasa server (channels/log_privacy.py) uses the same
patterns for e-mails, phones and references.
"""

from __future__ import annotations

import re

EMAIL_MASK = "[e-mail]"
PHONE_MASK = "[téléphone]"
REFERENCE_MASK = "[référence]"
NAME_MASK = "[nom]"
ADDRESS_MASK = "[adresse]"
NUMBER_MASK = "[numéro]"
MASKS = (EMAIL_MASK, PHONE_MASK, REFERENCE_MASK, NAME_MASK, ADDRESS_MASK, NUMBER_MASK)

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# French numbers in every usual writing: 06 12 34 56 78, 06.12.34.56.78, +33 6 12 34 56 78, 0033…
PHONE = re.compile(
    r"(?<![\w.])(?:\+33[\s.-]?(?:\(0\)[\s.-]?)?|0033[\s.-]?|0)[1-9](?:[\s.-]?\d{2}){4}(?![\w])"
)
# The assistant's references (RDV-7KQ2PX, SIG-2026-004217, RAP-2026-000042) and the tracked
# files' (DEM-2026-004217, SUB-2026-0042), with or without the hyphens a citizen drops.
REFERENCE = re.compile(
    r"\bRDV[\s-]?(?=[A-Za-z]{0,5}\d)[A-Za-z0-9]{6}\b|\b(?:DEM|SUB|SIG|RAP)[\s-]?\d{4}[\s-]?\d{3,6}\b",
    re.IGNORECASE,
)
# A number after « dossier », « n° », « numéro », « référence » (a legacy file number « 12-3456 »).
_NUMBERED = re.compile(
    r"(?P<key>\b(?:dossier|demande|n°|no\.?|num(?:e|é)ro|r(?:e|é)f(?:(?:e|é)rence)?)\s*(?:n°|:|#)?\s*)"
    r"(?P<value>[A-Za-z]{0,4}[\s-]?\d[\w-]{2,})",
    re.IGNORECASE,
)
_LEGACY_FILE = re.compile(r"\b\d{1,3}-\d{3,6}\b")
# ANTS pre-application numbers: 10 letters and digits with at least one of each.
ANTS_ID = re.compile(r"\b(?=[A-Za-z0-9]{0,9}\d)(?=[A-Za-z0-9]{0,9}[A-Za-z])[A-Za-z0-9]{10}\b")
# IBAN, social security numbers, card numbers, postcodes: any run of 5 digits or more.
_DIGITS = re.compile(r"\b(?:FR\d{2}[\s]?)?\d(?:[\s.]?\d){4,}\b", re.IGNORECASE)

# Words that end a name or an address: what follows them is the question again.
_STOP_WORDS = (
    "et|ou|mais|donc|car|de|du|des|d|je|j|on|nous|vous|il|elle|pour|par|avec|sans|dans|sur|depuis|a|à|au|aux|"
    "qui|que|quand|comment|est|suis|ai|mon|ma|mes|votre|vos|le|la|les|un|une|des|ce|cette|svp|merci|"
    "bonjour|habite|j'habite"
)
_WORD = rf"(?!(?:{_STOP_WORDS})\b)[A-Za-zÀ-ÖØ-öø-ÿ][\wÀ-ÖØ-öø-ÿ'’-]*"
_NAME = re.compile(
    r"(?P<key>\b(?:je\s+m[’']?\s*appel+e?s?|moi\s+c[’']?\s*est|"
    r"(?:mon\s+|le\s+)?(?:pr(?:e|é))?nom\b(?:\s+de\s+famille)?(?:\s+(?:est|c[’']?\s*est))?\s*[:=]?|"
    r"(?:je\s+suis\s+)?(?:m\.|mr|mme|mlle|monsieur|madame|mademoiselle))\s*)"
    rf"(?P<value>(?:(?:le|la|de|du|des|d[’']|l[’'])\s*)?{_WORD}(?:[\s-]+{_WORD}){{0,2}})",
    re.IGNORECASE,
)
# A capitalised name after « je suis », « cordialement », « signé » (« je suis perdu » stays).
_SIGNED = re.compile(
    r"(?P<key>\b(?:[Jj]e\s+suis|[Cc]ordialement|[Ss]ign(?:e|é)|[Bb]ien\s+à\s+vous)[\s,:]+)"
    r"(?!(?:Mr|Mme|Mlle|Monsieur|Madame|Mademoiselle)\b)"
    r"(?P<value>[A-ZÀ-ÖØ-Þ][\wÀ-ÖØ-öø-ÿ'’-]+(?:[\s-]+[A-ZÀ-ÖØ-Þ][\wÀ-ÖØ-öø-ÿ'’-]+){0,2})"
)
_STREET_TYPES = (
    "rue|avenue|av|bd|boulevard|chemin|allée|allee|impasse|place|pl|route|rte|quai|cours|square|"
    "lotissement|résidence|residence|hameau|lieu-dit|lieu dit|voie|sentier|passage|cité|cite|faubourg|"
    "promenade|rond-point|parvis|esplanade|clos|chaussée|chaussee|ruelle|traverse|venelle|mail"
)
_ADDRESS = re.compile(
    rf"(?:\b\d{{1,4}}\s?(?:bis|ter|b|t)?\s*,?\s*)?\b(?:{_STREET_TYPES})\.?\s+"
    r"(?:(?:de\s+la|de\s+l[’']|du|des|de|d[’']|la|le|les|l[’'])\s*)?"
    rf"{_WORD}(?:[\s-]+(?:(?:de|du|des|la|le|les|d[’']|l[’'])\s*)?{_WORD}){{0,3}}",
    re.IGNORECASE,
)
# « j'habite au 12 … » without a street type: the number and two words after it.
_HOUSE_NUMBER = re.compile(
    rf"(?P<key>\b(?:j[’']?\s*habite|domicili(?:e|é)e?|habitant)\s+(?:au|à|a|le)?\s*)\d{{1,4}}(?:\s+{_WORD}){{0,2}}",
    re.IGNORECASE,
)


def mask(text: str | None) -> str:
    """`text` with e-mails, phone numbers, references and file numbers, names, street addresses
    and long numbers replaced by placeholders (see the module's docstring); spaces squeezed."""
    if not text:
        return ""
    text = EMAIL.sub(EMAIL_MASK, text)
    text = PHONE.sub(PHONE_MASK, text)
    text = REFERENCE.sub(REFERENCE_MASK, text)
    text = _NUMBERED.sub(lambda m: m.group("key") + NUMBER_MASK, text)
    text = _LEGACY_FILE.sub(NUMBER_MASK, text)
    text = _NAME.sub(lambda m: m.group("key") + NAME_MASK, text)
    text = _SIGNED.sub(lambda m: m.group("key") + NAME_MASK, text)
    text = _ADDRESS.sub(ADDRESS_MASK, text)
    text = _HOUSE_NUMBER.sub(lambda m: m.group("key") + ADDRESS_MASK, text)
    text = ANTS_ID.sub(NUMBER_MASK, text)
    text = _DIGITS.sub(NUMBER_MASK, text)
    return " ".join(text.split())
