"""Which input names suggest special-category data, a protected characteristic, or a likely proxy for one.

Pure and name-based: it cannot see what a column holds, so it flags for a person to confirm, never clears.
Names are split into lowercase words (snake_case, kebab-case and camelCase), so "usage" is not "age".
"""

import re

# Category -> words that suggest it. The categories follow GDPR Art. 9(1), CCPA's sensitive personal
# information (Cal. Civ. Code § 1798.140(ae)) and the characteristics 45 CFR 92.210 names.
WORDS: dict[str, tuple[str, ...]] = {
    "racial or ethnic origin": ("race", "racial", "ethnic", "ethnicity", "skin"),
    "national origin": (
        "nationality",
        "citizenship",
        "citizen",
        "immigration",
        "birthplace",
        "nationalorigin",
        "countryoforigin",
        "oforigin",
    ),
    "religious or philosophical beliefs": ("religion", "religious", "faith", "belief", "beliefs", "caste"),
    "political opinions": ("political", "politics"),
    "trade union membership": ("tradeunion", "unionmember"),
    "health": (
        "health",
        "diagnosis",
        "diagnoses",
        "diagnostic",
        "icd",
        "icd9",
        "icd10",
        "disease",
        "medical",
        "medication",
        "medications",
        "prescription",
        "disability",
        "disabled",
        "pregnancy",
        "pregnant",
        "bmi",
        "illness",
        "hiv",
        "symptom",
        "symptoms",
        "comorbidity",
        "comorbidities",
        "clinical",
    ),
    "genetic data": ("genetic", "gene", "genes", "genome", "genotype", "dna"),
    "biometric data": ("biometric", "fingerprint", "facial", "iris", "voiceprint"),
    "sex life or sexual orientation": ("sexual", "sexualorientation", "lgbt", "lgbtq"),
    "sex or gender": ("sex", "gender", "female", "male", "pronoun", "pronouns"),
    "age": ("age", "dob", "birth", "birthdate", "birthyear", "yob", "dateofbirth", "yearofbirth"),
    "marital or family status": ("marital", "married", "spouse", "maritalstatus"),
    "postcode, a proxy for ethnic origin": ("zip", "zipcode", "postcode", "postal", "postalcode"),
    "personal name, a proxy for ethnic origin and sex": ("firstname", "lastname", "surname", "forename", "fullname"),
    "government identifier": ("ssn", "passport", "socialsecurity", "driverslicense", "driverlicense"),
    "precise geolocation": ("latitude", "longitude", "lat", "lon", "lng", "geolocation", "gps"),
}
_CATEGORY_OF = {word: category for category, words in WORDS.items() for word in words}


def words_of(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    words = [word for word in re.split(r"[^a-z0-9]+", spaced.lower()) if word]
    # The whole name joined, and each adjacent pair joined, catch words written apart: "zip_code", "postCode".
    return words + ["".join(words)] + [a + b for a, b in zip(words, words[1:], strict=False)]


def category_of(name: str) -> str | None:
    for word in words_of(name):
        if word in _CATEGORY_OF:
            return _CATEGORY_OF[word]
    return None


def sensitive_looking(names: list[str]) -> dict[str, str]:
    """Each name that looks sensitive, with the category it suggests, in the order given."""
    return {name: category for name in names if (category := category_of(name))}
