"""Vocabularies: the words of the corpus's metadata and of users' queries, as data.

Tables here sit below everything that reads them (features, captions, hybrid search): how the corpus names
things (dance types, Essen's German genres and places, countries) and the English origin words of the
keyword index. How *queries* name things, in five languages, is :mod:`musicsearch.data.terms`. Extend a
table and every reader sees it.
"""

from __future__ import annotations

# ---------------------------------------------------------------- corpus metadata
# Tune types of the dance-music collections, most specific first ("slip jig" before "jig").
DANCE_TYPES = ("slip jig", "single jig", "double jig", "set dance", "strathspey", "hornpipe", "highland",
               "reel", "jig", "polka", "waltz", "mazurka", "march", "clog", "schottische", "slide",
               "quickstep", "lament", "air", "song", "minuet", "country dance")
# Essen folk-song genres (German, hyphenated like "Liebes - Lied") -> English; first match in text order wins.
# After the genres proper, the themes and Chinese genre names its R: field also uses ("Brautwerbung",
# "Verrat, Mord", "wuge"): a caption should say "a courtship song", not "a brautwerbung".
GERMAN_GENRES = (("wiegen", "lullaby"), ("kinder", "children's song"), ("liebe", "love song"),
                 ("ballade", "ballad"), ("romanze", "ballad"), ("religi", "sacred song"), ("geistlich", "sacred song"),
                 ("tanz", "dance song"), ("reigen", "dance song"), ("trink", "drinking song"), ("zech", "drinking song"),
                 ("hochzeit", "wedding song"), ("ehestand", "wedding song"), ("abschied", "farewell song"),
                 ("soldat", "soldiers' song"), ("krieg", "war song"), ("jaeger", "hunting song"),
                 ("jäger", "hunting song"), ("scherz", "humorous song"), ("schalk", "humorous song"),
                 ("lustig", "humorous song"), ("erzaehl", "narrative song"), ("sage", "legend song"),
                 ("maerchen", "fairy-tale song"), ("beruf", "work song"), ("arbeit", "work song"),
                 ("staende", "trade song"), ("klage", "lament"), ("marsch", "march"), ("lied", "folk song"),
                 ("xiaodiao", "Chinese ditty (xiaodiao)"), ("shange", "Chinese mountain song (shange)"),
                 ("haozi", "Chinese work song (haozi)"), ("yangge", "Chinese yangge dance song"),
                 ("xiao diao", "Chinese ditty (xiaodiao)"), ("wuge", "Chinese dance song (wuge)"),
                 ("qingge", "Chinese love song (qingge)"), ("walzer", "waltz"), ("jagd", "hunting song"),
                 ("jagen", "hunting song"), ("brautwerbung", "courtship song"), ("werbung", "courtship song"),
                 ("brautsuche", "courtship song"), ("fenstergang", "courtship song"), ("mord", "murder ballad"),
                 ("vaterland", "patriotic song"), ("nationalhymne", "national anthem"), ("jodler", "yodel"),
                 ("legende", "legend song"), ("natur", "nature song"), ("gebet", "sacred song"))
# Classes Essen names before the specific genre ("Wuge, Yangge": dance song, yangge): used only alone.
BROAD_GENRES = frozenset({"Chinese dance song (wuge)"})
# What Essen's R: field writes where the genre is unknown: placeholders, read as no genre at all.
UNKNOWN_GENRE_WORDS = frozenset({"yyy", "xxx", "nn", "n.n."})
# Essen origin words (German) -> English. Continents are dropped when something more specific is known.
PLACE_NAMES = {
    "europa": "Europe", "mitteleuropa": "Central Europe", "osteuropa": "Eastern Europe",
    "suedosteuropa": "Southeast Europe", "westeuropa": "Western Europe", "deutschland": "Germany",
    "luxemburg": "Luxembourg", "lothringen": "Lorraine", "irland": "Ireland", "frankreich": "France",
    "elsass": "Alsace", "niederrhein": "Lower Rhine", "westfalen": "Westphalia", "schlesien": "Silesia",
    "rheinland": "Rhineland", "rhein": "Rhine", "schwaben": "Swabia", "franken": "Franconia",
    "jugoslawien": "Yugoslavia", "thueringen": "Thuringia", "oesterreich": "Austria", "niederlande": "Netherlands",
    "polen": "Poland", "bayern": "Bavaria", "schweiz": "Switzerland", "boehmen": "Bohemia", "hessen": "Hesse",
    "sachsen": "Saxony", "ungarn": "Hungary", "flaemisch": "Flemish", "nord - deutschland": "Northern Germany",
    "brandenburg": "Brandenburg", "berlin": "Berlin", "china": "China", "russland": "Russia", "rumaenien": "Romania",
    "tschechien": "Czechia", "daenemark": "Denmark", "schweden": "Sweden", "italien": "Italy",
}
COUNTRIES = ("Germany", "Luxembourg", "Lorraine", "Ireland", "France", "Austria", "Netherlands", "Poland",
             "Switzerland", "Hungary", "Yugoslavia", "China", "Russia", "Romania", "Czechia", "Denmark", "Sweden",
             "Italy", "Scotland", "England")
CONTINENTS = {"Europe", "Central Europe", "Eastern Europe", "Southeast Europe", "Western Europe"}
# Collections whose origin is known from the book itself, for tunes with no O: field.
COLLECTION_ORIGINS = {"oneills1850": "Ireland"}
# Numbers as captions write them ("six-eight time", "four voices"); phrasings reads them back.
NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight",
                9: "nine", 10: "ten", 11: "eleven", 12: "twelve", 16: "sixteen"}

# ---------------------------------------------------------------- query words
# canonical origin (as features.origin_country names it) -> English words the keyword index adds to a tune's
# tags, so "an Irish tune" meets "from Ireland" in BM25. What queries say, in five languages: data/terms.py.
ORIGINS: dict[str, tuple[str, ...]] = {
    "Ireland": ("irish", "ireland"), "Scotland": ("scottish", "scotland", "scots"),
    "England": ("english", "england"), "Germany": ("german", "germany"), "China": ("chinese", "china"),
    "France": ("french", "france"), "Austria": ("austrian", "austria"), "Poland": ("polish", "poland"),
    "Switzerland": ("swiss", "switzerland"), "Hungary": ("hungarian", "hungary"), "Russia": ("russian", "russia"),
    "Netherlands": ("dutch", "netherlands"), "Luxembourg": ("luxembourg",), "Lorraine": ("lorraine",),
    "Italy": ("italian", "italy"), "Sweden": ("swedish", "sweden"), "Denmark": ("danish", "denmark"),
    "Romania": ("romanian", "romania"), "Czechia": ("czech", "czechia"), "Yugoslavia": ("yugoslav", "yugoslavia"),
}
