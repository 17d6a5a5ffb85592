"""The 100 KiB HTML page of the compression cases (gzip-100k-c64,
gzip-proxy-100k-c64), written by bench/run.sh into the document root as
100k.html:

    python3 bench/html_page.py OUT [BYTES]

An order table: one row per order, each with an id and a link, a date, a
customer, an item, a quantity, a price, a status and a note of a few words.
The words come from a fixed vocabulary and the choices from a fixed-seed
xorshift generator of our own (not Python's `random`, whose sequences may
change between versions), so the bytes are the same on every machine and
every run. Why this and not a file of repeated bytes: what a compressor
costs depends on what it is given. A page of one repeated byte shrinks to
about 0.1% and takes almost no time; this one shrinks to about a quarter
at gzip level 5 (26 KiB of 100; zlib's level 1 about 30%, level 9 25%),
which is where markup-heavy real HTML falls.
"""

import sys

# A common English vocabulary, for the customers, items and notes.
WORDS = """
able about account across action active added address after again agent album almost along already
also amount analysis annual answer anyone apply april archive area around article artist asked author
autumn available average away back balance based basic become before began behind being below benefit
best better between beyond billing black board body book border both bottom brand bridge brief bring
broken brother budget build business button buyer cable called camera campaign capital card career
carry case cause center central century certain chance change chapter charge check choice church city
claim class clear client close coach coast code coffee collect color column comment common company
compare complete concert contact content control corner cost council country county course cover
create credit culture current custom daily damage data date deal debate decide default degree deliver
demand design detail device differ digital dinner direct district doctor double download draft dream
drive early east easy economy edit editor effect effort eight either election email energy engine
enough entry equal error estate even event every exact example expert export extra face fact family
famous farm father feature federal field figure file film final finance first fiscal five fixed
flight floor focus follow food force forest form forum forward four frame free fresh friend front
full fund future gallery game garden general gift given global goal gold good grand green ground
group growth guide half hand happy hard head health heart heavy held help high history hold home
hotel hour house human idea image impact import income index inside install issue item join journal
judge just keep kind kitchen label land large last later launch leader learn least legal length less
letter level library light limit line link list little live local long look lower machine main major
manage market master match matter media meet member memory menu message method middle might million
minute mobile model modern moment money month more morning most mother motion mountain move movie
music name nation native nature near network never news next night north note notice number object
office often online only open option order other output owner page paint paper parent park part party
pass past path patient pattern payment people period person phone photo piece place plan plant player
point police policy popular post power press price print private problem process product profile
program project public quality quarter question quick quite radio range rate reach read ready reason
record region release report request research result return review right river road room round rule
safety sale sample save scale school science score screen search season second section secure select
senior series server service session setting seven share short show side sign simple single site
size small social software solution some sound source south space speak special speed sport staff
stage standard start state status step still stock store story street strong student study style
subject summer supply support sure system table take talent team term test text theme thing third
three ticket time title today together total tour town track trade travel tree trial true type under
union unit until update upon user valley value various version video view village visit voice volume
water week weight west where while white whole wide window winter within without woman word work
world write year young zone
""".split()
NAMES = """Alder Birch Cedar Dunmore Elm Fairview Glen Harbor Iris Juniper Kestrel Linden Maple Norris
Oakley Pine Quarry Rowan Spruce Thorne Upton Vale Willow Yarrow""".split()
STATUS = ["open", "closed", "pending", "shipped", "on hold", "draft"]

HEAD = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Orders and notes: wired benchmark page</title>
<link rel="stylesheet" href="/static/site.css">
</head>
<body>
<header><nav><a href="/">Home</a> <a href="/orders/">Orders</a> <a href="/reports/">Reports</a> <a href="/help/">Help</a></nav></header>
<main>
<h1>Recent orders</h1>
<table class="orders">
<thead><tr><th>#</th><th>Date</th><th>Customer</th><th>Item</th><th>Qty</th><th>Price</th><th>Status</th><th>Note</th></tr></thead>
<tbody>
"""
TAIL = """</tbody>
</table>
</main>
<footer><p>Generated for the wired benchmark.</p></footer>
</body>
</html>
"""


class XorShift32:
    """Marsaglia's xorshift32 (13, 17, 5): tiny, and fixed forever."""

    def __init__(self, seed):
        self.x = seed

    def below(self, n):
        x = self.x
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.x = x
        return x % n


def page(size):
    rng = XorShift32(0x2545F491)

    def pick(seq):
        return seq[rng.below(len(seq))]

    def words(lo, hi):
        return " ".join(pick(WORDS) for _ in range(lo + rng.below(hi - lo + 1)))

    rows, used, n = [], len(HEAD) + len(TAIL), 0
    while True:
        n += 1
        oid = 100000 + 7 * n + rng.below(7)
        row = (f'<tr id="o{oid}" class="{pick(STATUS).replace(" ", "-")}">'
               f'<td><a href="/orders/{oid}">{oid}</a></td>'
               f"<td>2026-{1 + rng.below(12):02d}-{1 + rng.below(28):02d}</td>"
               f"<td>{pick(NAMES)} {words(1, 2).title()}</td>"
               f"<td>{words(2, 4).capitalize()}</td><td>{1 + rng.below(20)}</td>"
               f"<td>{rng.below(500)}.{rng.below(100):02d}</td><td>{pick(STATUS)}</td>"
               f"<td>{words(4, 14).capitalize()}.</td></tr>\n")
        if used + len(row) > size:
            break
        rows.append(row)
        used += len(row)
    # The last few bytes to the exact size: a comment of letters (7 bytes
    # of it are "<!--" and "-->"), or newlines if fewer than 7 are left.
    pad = size - used
    filler = ("<!--" + "".join(pick(WORDS)[0] for _ in range(pad - 7)) + "-->") if pad >= 7 else "\n" * pad
    text = (HEAD + "".join(rows) + filler + TAIL).encode("ascii")
    assert len(text) == size, (len(text), size)
    return text


def main():
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 100 * 1024
    with open(sys.argv[1], "wb") as f:
        f.write(page(size))


if __name__ == "__main__":
    main()
