#!/usr/bin/env python3
"""gen_customers.py - a deterministic table of fictional customers for the EDM tests.

    python3 tests/tools/gen_customers.py N [SEED] > customers.csv

writes a header and N rows:

    id,name,email,phone,card,canary,label

and gen_pcaps.py imports customers(n, seed) to take values from the same table, so a
capture can carry values that are (or are not) in an index built from that CSV.

Determinism: one random.Random seeded with SEED (default DEFAULT_SEED) draws every
row in order, and a row depends only on the rows before it, so customers(100) is the
first 100 rows of customers(10000). Nothing reads the clock or the environment; only
the Python 3 standard library is used.

Everything is fictional:
  * emails are at example.com / example.org / example.net (RFC 2606). Local parts
    are made of a first and a last name from the lists below, '.', '_' and digits,
    never a '-': gen_pcaps.py writes its non-customer emails with a '-' so that
    they can never be a customer's (non_customer_email() below; asserted);
  * phones are NANP "(NPA) 555-01XX", the exchange and line range set aside for
    fiction; the area codes are real ones that pass the sensor's NPA rules
    ([2-9][0-8][0-9], not N11, 37X, 96X or 555), enough of them for 10,000
    distinct numbers (100 lines each);
  * cards are 16 digits under the well-known test IINs 400000 (Visa) and
    555555 (Mastercard) with random digits and a correct Luhn digit.
Every email, phone and card is distinct within one table.

Canaries (honeytokens): the rows at CANARY_ROWS (0-based, counting data rows only)
that exist in the table have canary "yes" and the label "canary-KK" (KK the canary's
number, two digits); the other rows leave both columns empty. A canary row looks like
any other customer: nothing in its values gives it away.
"""

import random
import sys

DEFAULT_SEED = "leakwatch-edm-customers"
HEADER = ["id", "name", "email", "phone", "card", "canary", "label"]

# Row k*997 + 7 is canary k: 11 canaries in a 10,000-row table, the first in any
# table of 8 rows or more.
CANARY_ROWS = [7 + 997 * k for k in range(11)]

FIRST_NAMES = [
    "adele", "bastian", "camille", "dario", "esme", "felix", "greta", "hugo", "ida", "joel",
    "kirsten", "luca", "mira", "noor", "oskar", "petra", "ravi", "selma", "teo", "ulla",
    "viktor", "wanda", "yara", "zeno", "amara", "boris", "cora", "elias", "freya", "gideon",
    "helga", "ivo", "jana", "kofi", "lena", "matteo", "nadia", "otto", "pia", "rune",
]
LAST_NAMES = [
    "achterberg", "bianchi", "carvalho", "dahl", "esposito", "forsberg", "gruber", "haddad",
    "ivanova", "jovanovic", "kaminski", "larsen", "mendes", "nakamura", "oliveira", "popescu",
    "quist", "rinaldi", "sandoval", "takahashi", "urban", "virtanen", "wojcik", "xavier",
    "yamada", "zeller", "aalto", "brandt", "costa", "dimitrov", "ekstrom", "fontaine",
    "gomes", "horvath", "ishikawa", "janssen", "keller", "lombardi", "marino", "nowak",
]
EMAIL_DOMAINS = ["example.com", "example.org", "example.net"]

# Area codes in service in the NANP; 122 of them give 12,200 fictional numbers.
AREA_CODES = [
    201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218, 219, 224,
    225, 228, 229, 231, 234, 239, 240, 248, 251, 252, 253, 254, 256, 260, 262, 267, 269, 270,
    276, 281, 301, 302, 303, 304, 305, 307, 308, 309, 310, 312, 313, 314, 315, 316, 317, 318,
    319, 320, 321, 323, 325, 330, 334, 336, 337, 339, 347, 351, 352, 360, 361, 386, 401, 402,
    404, 405, 406, 407, 408, 409, 410, 412, 413, 414, 415, 417, 419, 423, 424, 425, 430, 432,
    434, 435, 440, 443, 469, 470, 475, 478, 479, 480, 484, 501, 502, 503, 504, 505, 507, 508,
    509, 510, 512, 513, 515, 516, 517, 518, 520, 530, 540, 541, 617, 713,
]

# Test IINs: payment networks publish these for testing; no card is issued under them.
CARD_IINS = ["400000", "555555"]


def npa_ok(npa):
    """The sensor's NANP area-code rule (sensor/match/validate_phone.c)."""
    a, b, c = npa // 100, npa // 10 % 10, npa % 10
    return a >= 2 and b <= 8 and not (b == 1 and c == 1) and npa // 10 not in (37, 96) and npa != 555


def luhn_check_digit(partial):
    """The digit that makes partial + digit pass Luhn (ISO/IEC 7812-1)."""
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:  # doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def canary_label(row):
    """The label of the canary at 0-based data row `row`, or "" for a customer."""
    if row in CANARY_ROWS:
        return "canary-%02d" % CANARY_ROWS.index(row)
    return ""


def non_customer_email(i):
    """The i-th address of a pattern customers() never produces (it has a '-')."""
    return "guest-%04d.visitor@example.org" % i


class _Table:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.seen = set()

    def unique(self, make):
        for _ in range(100000):
            v = make()
            if v not in self.seen:
                self.seen.add(v)
                return v
        raise RuntimeError("value space exhausted")

    def email(self, first, last):
        r = self.rng

        def make():
            style = r.randrange(3)
            if style == 0:
                local = "%s.%s%d" % (first, last, r.randrange(1, 100))
            elif style == 1:
                local = "%s%s%d" % (first[0], last, r.randrange(100, 1000))
            else:
                local = "%s_%s%d" % (first, last[:4], r.randrange(10, 100))
            return "%s@%s" % (local, r.choice(EMAIL_DOMAINS))

        return self.unique(make)

    def phone(self):
        r = self.rng
        return self.unique(lambda: "(%d) 555-%04d" % (r.choice(AREA_CODES), r.randrange(100, 200)))

    def card(self):
        r = self.rng

        def make():
            partial = r.choice(CARD_IINS) + "".join(str(r.randrange(10)) for _ in range(9))
            return partial + luhn_check_digit(partial)

        return self.unique(make)


def customers(n, seed=DEFAULT_SEED):
    """n rows, each a dict keyed by HEADER (all values strings). Row i has id i + 1."""
    if n > len(AREA_CODES) * 100 * 9 // 10:
        raise ValueError("at most %d customers" % (len(AREA_CODES) * 90))
    t = _Table(seed)
    rows = []
    for i in range(n):
        first, last = t.rng.choice(FIRST_NAMES), t.rng.choice(LAST_NAMES)
        label = canary_label(i)
        rows.append({
            "id": str(i + 1),
            "name": "%s %s" % (first.capitalize(), last.capitalize()),
            "email": t.email(first, last),
            "phone": t.phone(),
            "card": t.card(),
            "canary": "yes" if label else "",
            "label": label,
        })
    return rows


def csv_text(rows):
    """The CSV (header first, LF line ends). No field holds a comma or a quote."""
    lines = [",".join(HEADER)]
    for row in rows:
        lines.append(",".join(row[h] for h in HEADER))
    return "\n".join(lines) + "\n"


def self_check(rows):
    assert all(npa_ok(a) for a in AREA_CODES) and len(set(AREA_CODES)) == len(AREA_CODES)
    assert luhn_check_digit("400000000000000") == "2"  # the published Visa test number
    for key in ("email", "phone", "card"):
        assert len({r[key] for r in rows}) == len(rows), "duplicate " + key
    for r in rows:
        assert "-" not in r["email"] and not r["email"].startswith("guest")
        assert r["email"].split("@")[1] in EMAIL_DOMAINS
        assert "555-01" in r["phone"]
        c = r["card"]
        assert len(c) == 16 and c[:6] in CARD_IINS and luhn_check_digit(c[:-1]) == c[-1]
        assert all("," not in v and '"' not in v for v in r.values())


def main(argv):
    if len(argv) not in (2, 3) or not argv[1].isdigit():
        sys.stderr.write("usage: gen_customers.py N [SEED] > customers.csv\n")
        return 2
    try:
        rows = customers(int(argv[1]), argv[2] if len(argv) == 3 else DEFAULT_SEED)
    except ValueError as e:
        sys.stderr.write("gen_customers.py: %s\n" % e)
        return 2
    self_check(rows)
    sys.stdout.write(csv_text(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
