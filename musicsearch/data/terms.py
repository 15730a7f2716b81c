"""Query words in the corpus's five languages (en, de, fr, it, es): what a person types for a field value.

The query parser (:mod:`musicsearch.search.understanding`) reads these tables; nothing else does. Each table
maps a canonical value (as :mod:`musicsearch.data.features` names it for a record: ``"lullaby"``, ``"6/8"``,
``"minor"``, ``"Ireland"``) to the words of each language. Words are written as people type them (with
accents and capitals); the parser folds case and accents, so ``"canción de cuna"`` also meets
``"cancion de cuna"``. A multi-word term is matched as a phrase, longest first.

Extend a table here and every search path understands the new word: add a row, or a word to a row, and
add a case to ``tests/data/test_terms.py``.

Example:
    >>> TUNE_TYPE_TERMS["lullaby"]["fr"]
    ('berceuse', 'berceuses')
"""

from __future__ import annotations

LANGUAGES = ("en", "de", "fr", "it", "es")

# canonical tune type (features.tune_type's English name) -> language -> words. "folk song" is absent on
# purpose: in a query it names the whole corpus ("ein Volkslied"), so it is a function word below.
TUNE_TYPE_TERMS: dict[str, dict[str, tuple[str, ...]]] = {
    "slip jig": {"en": ("slip jig", "slip jigs", "slipjig")},
    "set dance": {"en": ("set dance", "set dances")},
    "jig": {"en": ("jig", "jigs", "double jig", "single jig"), "de": ("Jig", "Jigs"), "fr": ("gigue", "gigues"),
            "it": ("giga", "jig"), "es": ("giga", "jig")},
    "reel": {"en": ("reel", "reels"), "de": ("Reel",), "fr": ("reel",), "it": ("reel",), "es": ("reel",)},
    "hornpipe": {"en": ("hornpipe", "hornpipes")},
    "strathspey": {"en": ("strathspey", "strathspeys")},
    "polka": {"en": ("polka", "polkas"), "de": ("Polka", "Polkas"), "fr": ("polka",), "it": ("polca", "polka"),
              "es": ("polca", "polka")},
    "waltz": {"en": ("waltz", "waltzes"), "de": ("Walzer",), "fr": ("valse", "valses"), "it": ("valzer",),
              "es": ("vals", "valses")},
    "march": {"en": ("march", "marches"), "de": ("Marsch", "Märsche"), "fr": ("marche", "marches"),
              "it": ("marcia", "marce"), "es": ("marcha", "marchas")},
    "mazurka": {"en": ("mazurka", "mazurkas"), "fr": ("mazurka",), "it": ("mazurca",), "es": ("mazurca",)},
    "minuet": {"en": ("minuet", "minuets"), "de": ("Menuett",), "fr": ("menuet",), "it": ("minuetto",),
               "es": ("minueto",)},
    "schottische": {"en": ("schottische",)},  # not German "schottische" (Scottish): see ORIGIN_TERMS
    "slide": {"en": ("slide", "slides")}, "clog": {"en": ("clog", "clogs")},
    "highland": {"en": ("highland", "highlands")}, "quickstep": {"en": ("quickstep",)},
    "air": {"en": ("air", "airs", "slow air"), "fr": ("air", "airs"), "it": ("aria", "arie"), "es": ("aire",)},
    "lament": {"en": ("lament", "laments"), "de": ("Klagelied", "Klagelieder"), "fr": ("complainte", "lamentation"),
               "it": ("lamento",), "es": ("lamento",)},
    "chorale": {"en": ("chorale", "chorales"), "de": ("Choral", "Choräle"), "fr": ("choral",), "it": ("corale",),
                "es": ("corales",)},  # not "coral": an English word too
    "lullaby": {"en": ("lullaby", "lullabies", "cradle song"), "de": ("Wiegenlied", "Wiegenlieder", "Wiegen-Lied", "Schlaflied"),
                "fr": ("berceuse", "berceuses"), "it": ("ninna nanna", "ninnananna", "ninna-nanna", "ninne nanne"),
                "es": ("canción de cuna", "canciones de cuna", "nana", "nanas")},
    "love song": {"en": ("love song", "love songs"), "de": ("Liebeslied", "Liebeslieder", "Liebes-Lied"),
                  "fr": ("chanson d'amour", "chansons d'amour"), "it": ("canzone d'amore", "canzoni d'amore"),
                  "es": ("canción de amor", "canciones de amor")},
    "children's song": {"en": ("children's song", "children's songs", "childrens song", "nursery rhyme"),
                        "de": ("Kinderlied", "Kinderlieder", "Kinder-Lied"), "fr": ("chanson enfantine", "comptine", "comptines"),
                        "it": ("canzone per bambini", "filastrocca", "filastrocche"),
                        "es": ("canción infantil", "canciones infantiles")},
    "ballad": {"en": ("ballad", "ballads"), "de": ("Ballade", "Balladen"), "fr": ("ballade", "ballades"),
               "it": ("ballata", "ballate"), "es": ("balada", "baladas")},
    "sacred song": {"en": ("sacred song", "religious song", "hymn", "hymns"),
                    "de": ("geistliches Lied", "Kirchenlied", "Kirchenlieder"), "fr": ("cantique", "chant religieux"),
                    "it": ("canto sacro", "canto religioso"), "es": ("canción religiosa", "himno")},
    "drinking song": {"en": ("drinking song", "drinking songs"), "de": ("Trinklied", "Trinklieder", "Trink-Lied"),
                      "fr": ("chanson à boire",), "it": ("canzone da osteria", "brindisi"),
                      "es": ("canción de taberna", "canción báquica")},
    "dance song": {"en": ("dance song", "dance songs"), "de": ("Tanzlied", "Tanzlieder", "Tanz-Lied"),
                   "fr": ("chanson à danser",), "it": ("canzone a ballo",), "es": ("canción de baile",)},
    "wedding song": {"en": ("wedding song",), "de": ("Hochzeitslied", "Hochzeits-Lied"), "fr": ("chanson de noces",),
                     "it": ("canzone nuziale",), "es": ("canción de boda",)},
    "farewell song": {"en": ("farewell song",), "de": ("Abschiedslied", "Abschieds-Lied"), "fr": ("chanson d'adieu",),
                      "it": ("canzone d'addio",), "es": ("canción de despedida",)},
    "soldiers' song": {"en": ("soldiers' song", "soldier song", "soldiers song"), "de": ("Soldatenlied", "Soldaten-Lied"),
                       "fr": ("chanson de soldat",), "it": ("canzone di soldati",), "es": ("canción de soldados",)},
    "war song": {"en": ("war song",), "de": ("Kriegslied", "Kriegs-Lied"), "fr": ("chant de guerre",), "it": ("canto di guerra",),
                 "es": ("canción de guerra",)},
    "hunting song": {"en": ("hunting song",), "de": ("Jägerlied", "Jagdlied"), "fr": ("chanson de chasse",),
                     "it": ("canzone di caccia",), "es": ("canción de caza",)},
    "humorous song": {"en": ("humorous song", "funny song"), "de": ("Scherzlied", "Scherz-Lied"), "fr": ("chanson humoristique",),
                      "it": ("canzone umoristica",), "es": ("canción humorística",)},
    "narrative song": {"en": ("narrative song",), "de": ("Erzähllied",), "fr": ("chanson narrative",),
                       "it": ("canzone narrativa",), "es": ("canción narrativa",)},
    "legend song": {"en": ("legend song",), "de": ("Sagenlied", "Sagen-Lied"), "fr": ("chanson légendaire",),
                    "it": ("canzone leggendaria",), "es": ("canción legendaria",)},
    "trade song": {"en": ("trade song",), "de": ("Ständelied", "Handwerkerlied"), "fr": ("chanson de métier",),
                   "it": ("canzone di mestiere",), "es": ("canción de oficio",)},
    "work song": {"en": ("work song",), "de": ("Arbeitslied", "Arbeits-Lied"), "fr": ("chanson de travail",),
                  "it": ("canto di lavoro",), "es": ("canción de trabajo",)},
    "courtship song": {"en": ("courtship song", "courtship songs", "wooing song"), "de": ("Werbelied", "Brautwerbung")},
    "patriotic song": {"en": ("patriotic song", "patriotic songs"),
                       "de": ("Vaterlandslied", "Vaterlandslieder", "Heimatlied"),
                       "fr": ("chant patriotique", "chanson patriotique"), "it": ("canto patriottico",),
                       "es": ("canción patriótica",)},
    "national anthem": {"en": ("national anthem",), "de": ("Nationalhymne",), "fr": ("hymne national",),
                        "it": ("inno nazionale",), "es": ("himno nacional",)},
    "murder ballad": {"en": ("murder ballad", "murder ballads"), "de": ("Mordballade", "Moritat")},
    "nature song": {"en": ("nature song", "nature songs"), "de": ("Naturlied", "Naturlieder")},
    "yodel": {"en": ("yodel", "yodels"), "de": ("Jodler", "Jodel")},
}

# canonical mode -> language -> words (an adjective after "in"/"en" or alone: "in Moll", "en mineur")
MODE_TERMS: dict[str, dict[str, tuple[str, ...]]] = {
    "major": {"en": ("major",), "de": ("Dur",), "fr": ("majeur", "majeure"), "it": ("maggiore",), "es": ("mayor",)},
    "minor": {"en": ("minor",), "de": ("Moll",), "fr": ("mineur", "mineure"), "it": ("minore",), "es": ("menor",)},
    "dorian": {"en": ("dorian",), "de": ("dorisch",), "fr": ("dorien",), "it": ("dorico",), "es": ("dórico",)},
    "mixolydian": {"en": ("mixolydian",), "de": ("mixolydisch",), "fr": ("mixolydien",), "it": ("misolidio",),
                   "es": ("mixolidio",)},
    "lydian": {"en": ("lydian",), "de": ("lydisch",), "fr": ("lydien",), "it": ("lidio",), "es": ("lidio",)},
    "phrygian": {"en": ("phrygian",), "de": ("phrygisch",), "fr": ("phrygien",), "it": ("frigio",), "es": ("frigio",)},
    "aeolian": {"en": ("aeolian",), "de": ("äolisch",), "fr": ("éolien",), "it": ("eolio",), "es": ("eolio",)},
    "locrian": {"en": ("locrian",), "de": ("lokrisch",), "fr": ("locrien",), "it": ("locrio",), "es": ("locrio",)},
}

# Tonic names -> ABC spelling. German: h = B, b = B-flat, -is sharp, -es flat; Romance: solfège.
TONICS: dict[str, dict[str, str]] = {
    "de": {"c": "C", "cis": "C#", "des": "Db", "d": "D", "dis": "D#", "es": "Eb", "e": "E", "f": "F", "fis": "F#",
           "ges": "Gb", "g": "G", "gis": "G#", "as": "Ab", "a": "A", "ais": "A#", "b": "Bb", "h": "B"},
    "fr": {"do": "C", "ut": "C", "ré": "D", "mi": "E", "fa": "F", "sol": "G", "la": "A", "si": "B"},
    "it": {"do": "C", "re": "D", "mi": "E", "fa": "F", "sol": "G", "la": "A", "si": "B"},
    "es": {"do": "C", "re": "D", "mi": "E", "fa": "F", "sol": "G", "la": "A", "si": "B"},
}
ACCIDENTALS = {"sharp": "#", "flat": "b", "dièse": "#", "bémol": "b", "diesis": "#", "bemolle": "b",
               "sostenido": "#", "bemol": "b", "#": "#", "♯": "#", "♭": "b"}

# Meters in words. Numbers and note values per language; the parser builds "six-eight", "Sechsachteltakt",
# "six-huit", "sei ottavi", "seis por ocho" from them, and reads "6/8" in any language.
METER_NUMBERS: dict[str, dict[str, int]] = {
    "en": {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "nine": 9, "twelve": 12},
    "de": {"zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6, "sieben": 7, "neun": 9, "zwölf": 12},
    "fr": {"deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "neuf": 9, "douze": 12},
    "it": {"due": 2, "tre": 3, "quattro": 4, "cinque": 5, "sei": 6, "sette": 7, "nove": 9, "dodici": 12},
    "es": {"dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7, "nueve": 9, "doce": 12},
}
METER_UNITS: dict[str, dict[str, int]] = {
    "en": {"two": 2, "four": 4, "eight": 8}, "de": {"halbe": 2, "viertel": 4, "achtel": 8},
    "fr": {"deux": 2, "quatre": 4, "huit": 8}, "it": {"mezzi": 2, "quarti": 4, "ottavi": 8},
    "es": {"dos": 2, "cuatro": 4, "ocho": 8},
}
# Named meters.
METER_TERMS: dict[str, dict[str, tuple[str, ...]]] = {
    "4/4": {"en": ("common time",), "de": ("Viervierteltakt",)},
    "2/2": {"en": ("cut time", "alla breve"), "de": ("alla breve",), "fr": ("alla breve",), "it": ("alla breve",),
            "es": ("alla breve",)},
    "3/4": {"en": ("waltz time", "triple time"), "de": ("Dreivierteltakt",), "fr": ("trois temps",),
            "it": ("tre tempi",), "es": ("tres tiempos",)},
}

# canonical country (features.origin_country's name) -> language -> words (adjectives and names)
ORIGIN_TERMS: dict[str, dict[str, tuple[str, ...]]] = {
    "Ireland": {"en": ("Irish", "Ireland"), "de": ("irisch", "irische", "irischer", "irisches", "irischen", "Irland"),
                "fr": ("irlandais", "irlandaise", "irlandaises", "Irlande"),
                "it": ("irlandese", "irlandesi", "Irlanda"), "es": ("irlandés", "irlandesa", "irlandeses", "Irlanda")},
    "Scotland": {"en": ("Scottish", "Scotland", "Scots", "Scotch"),
                 "de": ("schottisch", "schottischer", "schottisches", "schottischen", "Schottland"),
                 "fr": ("écossais", "écossaise", "écossaises", "Écosse"), "it": ("scozzese", "scozzesi", "Scozia"),
                 "es": ("escocés", "escocesa", "escoceses", "Escocia")},
    "England": {"en": ("English", "England"), "de": ("englisch", "englische", "englisches", "England"),
                "fr": ("anglais", "anglaise", "Angleterre"), "it": ("inglese", "inglesi", "Inghilterra"),
                "es": ("inglés", "inglesa", "Inglaterra")},
    "Germany": {"en": ("German", "Germany"), "de": ("deutsch", "deutsche", "deutscher", "deutsches", "deutschen",
                                                    "Deutschland"),
                "fr": ("allemand", "allemande", "allemandes", "Allemagne"), "it": ("tedesco", "tedesca", "tedeschi",
                                                                                  "tedesche", "Germania"),
                "es": ("alemán", "alemana", "alemanas", "alemanes", "Alemania")},
    "China": {"en": ("Chinese", "China"), "de": ("chinesisch", "chinesische", "chinesisches", "China"),
              "fr": ("chinois", "chinoise", "chinoises", "Chine"), "it": ("cinese", "cinesi", "Cina"),
              "es": ("chino", "china", "chinas", "chinos")},
    "France": {"en": ("French", "France"), "de": ("französisch", "französische", "französisches", "Frankreich"),
               "fr": ("français", "française", "françaises", "France"), "it": ("francese", "francesi", "Francia"),
               "es": ("francés", "francesa", "Francia")},
    "Lorraine": {"en": ("Lorraine",), "de": ("lothringisch", "lothringische", "Lothringen"),
                 "fr": ("lorrain", "lorraine", "lorraines"), "it": ("Lorena",), "es": ("Lorena",)},
    "Luxembourg": {"en": ("Luxembourg", "Luxembourgish"), "de": ("luxemburgisch", "luxemburgische", "Luxemburg"),
                   "fr": ("luxembourgeois", "luxembourgeoise"), "it": ("lussemburghese", "Lussemburgo"),
                   "es": ("luxemburgués", "luxemburguesa", "Luxemburgo")},
    "Poland": {"en": ("Polish", "Poland"), "de": ("polnisch", "polnische", "Polen"),
               "fr": ("polonais", "polonaise", "Pologne"), "it": ("polacco", "polacca", "Polonia"),
               "es": ("polaco", "polaca", "Polonia")},
    "Austria": {"en": ("Austrian", "Austria"), "de": ("österreichisch", "österreichische", "Österreich"),
                "fr": ("autrichien", "autrichienne", "Autriche"), "it": ("austriaco", "austriaca", "Austria"),
                "es": ("austriaco", "austríaco", "austriaca", "Austria")},
    "Switzerland": {"en": ("Swiss", "Switzerland"), "de": ("schweizer", "schweizerisch", "schweizerische", "Schweiz"),
                    "fr": ("suisse", "suisses", "Suisse"), "it": ("svizzero", "svizzera", "Svizzera"),
                    "es": ("suizo", "suiza", "Suiza")},
    "Hungary": {"en": ("Hungarian", "Hungary"), "de": ("ungarisch", "ungarische", "Ungarn"),
                "fr": ("hongrois", "hongroise", "Hongrie"), "it": ("ungherese", "Ungheria"),
                "es": ("húngaro", "húngara", "Hungría")},
    "Netherlands": {"en": ("Dutch", "Netherlands"), "de": ("niederländisch", "niederländische", "holländisch",
                                                         "Niederlande", "Holland"),
                    "fr": ("néerlandais", "hollandais", "Pays-Bas"), "it": ("olandese", "Olanda", "Paesi Bassi"),
                    "es": ("holandés", "neerlandés", "holandesa", "Holanda", "Países Bajos")},
    "Russia": {"en": ("Russian", "Russia"), "de": ("russisch", "russische", "Russland"),
               "fr": ("russe", "russes", "Russie"), "it": ("russo", "russa", "Russia"), "es": ("ruso", "rusa", "Rusia")},
    "Italy": {"en": ("Italian", "Italy"), "de": ("italienisch", "italienische", "Italien"),
              "fr": ("italien", "italienne", "Italie"), "it": ("italiano", "italiana", "Italia"),
              "es": ("italiano", "italiana", "Italia")},
    "Yugoslavia": {"en": ("Yugoslav", "Yugoslavian", "Yugoslavia"), "de": ("jugoslawisch", "Jugoslawien"),
                   "fr": ("yougoslave", "Yougoslavie"), "it": ("jugoslavo", "Jugoslavia"),
                   "es": ("yugoslavo", "yugoslava", "Yugoslavia")},
    "Romania": {"en": ("Romanian", "Romania"), "de": ("rumänisch", "rumänische", "Rumänien"),
                "fr": ("roumain", "roumaine", "Roumanie"), "it": ("rumeno", "rumena", "Romania"),
                "es": ("rumano", "rumana", "Rumanía", "Rumania")},
    "Czechia": {"en": ("Czech", "Czechia"), "de": ("tschechisch", "Tschechien"), "fr": ("tchèque",),
                "it": ("ceco", "ceca"), "es": ("checo", "checa")},
    "Sweden": {"en": ("Swedish", "Sweden"), "de": ("schwedisch", "Schweden"), "fr": ("suédois", "Suède"),
               "it": ("svedese", "Svezia"), "es": ("sueco", "sueca", "Suecia")},
    "Denmark": {"en": ("Danish", "Denmark"), "de": ("dänisch", "Dänemark"), "fr": ("danois", "Danemark"),
                "it": ("danese", "Danimarca"), "es": ("danés", "danesa", "Dinamarca")},
}
# Regions the Essen origins name (features.origin_places' English names) -> words.
REGION_TERMS: dict[str, dict[str, tuple[str, ...]]] = {
    "Bavaria": {"en": ("Bavarian", "Bavaria"), "de": ("bayrisch", "bayerisch", "bayerische", "Bayern"),
                "fr": ("bavarois", "Bavière"), "it": ("bavarese", "Baviera"), "es": ("bávaro", "Baviera")},
    "Swabia": {"en": ("Swabian", "Swabia"), "de": ("schwäbisch", "schwäbische", "Schwaben"), "fr": ("Souabe",),
               "it": ("Svevia",), "es": ("Suabia",)},
    "Silesia": {"en": ("Silesian", "Silesia"), "de": ("schlesisch", "schlesische", "Schlesien"), "fr": ("Silésie",),
                "it": ("Slesia",), "es": ("Silesia",)},
    "Westphalia": {"en": ("Westphalian", "Westphalia"), "de": ("westfälisch", "Westfalen"), "fr": ("Westphalie",),
                   "it": ("Vestfalia",), "es": ("Westfalia",)},
    "Rhineland": {"en": ("Rhineland",), "de": ("rheinisch", "Rheinland"), "fr": ("Rhénanie",), "it": ("Renania",),
                  "es": ("Renania",)},
    "Alsace": {"en": ("Alsatian", "Alsace"), "de": ("elsässisch", "Elsass"), "fr": ("alsacien", "alsacienne"),
               "it": ("Alsazia",), "es": ("Alsacia",)},
    "Bohemia": {"en": ("Bohemian", "Bohemia"), "de": ("böhmisch", "Böhmen"), "fr": ("Bohême",), "it": ("Boemia",),
                "es": ("Bohemia",)},
}
# Places a query may name that the corpus has no tunes from: understood, said so, never silently dropped.
UNKNOWN_PLACES = ("American", "America", "Spanish", "Spain", "Japanese", "Japan", "Greek", "Greece", "Welsh", "Wales",
                  "Portuguese", "Turkish", "Indian", "African", "Brazilian", "Mexican", "Norwegian", "Finnish",
                  "Ukrainian", "Bulgarian", "Serbian", "Croatian", "Breton", "Cornish", "Peruvian", "Canadian",
                  "spanisch", "Spanien", "amerikanisch", "Amerika", "espagnol", "espagnole", "Espagne", "américain",
                  "spagnolo", "spagnola", "Spagna", "americano", "español", "española", "España", "japonés")

# Collections a query may name -> the index's collection field.
COLLECTION_TERMS: dict[str, tuple[str, ...]] = {
    "oneills1850": ("O'Neill", "O'Neill's", "Music of Ireland"), "airdsAirs": ("Aird", "Aird's"),
    "ryansMammoth": ("Ryan's Mammoth", "Ryan's", "Mammoth Collection"), "essenFolksong": ("Essen",),
    "bach": ("Bach chorale", "Bach chorales"),
}

# Tempo and character words: understood and reported, but the corpus records a tempo for few tunes (Q:),
# so they are not used to rank; they still reach the text encoder.
TEMPO_TERMS: dict[str, dict[str, tuple[str, ...]]] = {
    "slow": {"en": ("slow", "slowly", "gentle", "calm"), "de": ("langsam", "langsames", "langsame", "ruhig"),
             "fr": ("lent", "lente", "lentement", "calme"), "it": ("lento", "lenta", "calmo"),
             "es": ("lento", "lenta", "tranquilo", "tranquila")},
    "lively": {"en": ("lively", "fast", "quick", "brisk", "upbeat"), "de": ("lebhaft", "schnell", "flott"),
               "fr": ("vif", "vive", "rapide", "entraînant"), "it": ("vivace", "veloce", "allegro"),
               "es": ("vivo", "viva", "rápido", "rápida", "alegre")},
    "sad": {"en": ("sad", "melancholy", "mournful"), "de": ("traurig", "traurige", "trauriges", "wehmütig"),
            "fr": ("triste", "tristes", "mélancolique"), "it": ("triste", "malinconico", "malinconica"),
            "es": ("triste", "melancólico", "melancólica")},
    "happy": {"en": ("happy", "cheerful", "merry", "joyful"), "de": ("fröhlich", "fröhliches", "heiter", "lustig"),
              "fr": ("gai", "gaie", "joyeux", "joyeuse"), "it": ("allegra", "gioioso", "gioiosa"),
              "es": ("feliz", "alegres")},
}

# Words that carry no field and no name in a query: articles, "tune", "key", "time", "in". Consumed, never
# matched against titles (the word "key" must not find "The Key of Kindness").
FUNCTION_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("a", "an", "the", "in", "of", "on", "for", "with", "and", "or", "to", "from", "by", "some", "any", "me",
           "find", "show", "give", "i", "want", "like", "that", "is", "are", "something", "tune", "tunes", "song",
           "songs", "piece", "pieces", "music", "melody", "melodies", "key", "time", "meter", "metre", "mode",
           "folk", "folksong", "folk song", "folk songs", "traditional", "please", "play", "search", "looking"),
    "de": ("ein", "eine", "einen", "einer", "eines", "der", "die", "das", "den", "dem", "des", "in", "im", "aus",
           "von", "mit", "und", "oder", "für", "ich", "suche", "zeig", "zeige", "mir", "lied", "lieder", "stück",
           "melodie", "tonart", "takt", "volkslied", "volkslieder", "etwas", "bitte"),
    "fr": ("un", "une", "le", "la", "les", "l", "des", "de", "du", "d", "en", "à", "au", "aux", "et", "ou", "pour",
           "avec", "je", "cherche", "chanson", "chansons", "morceau", "mélodie", "air populaire", "tonalité",
           "mesure", "ton", "mode", "chanson populaire", "chant", "populaire", "traditionnel", "traditionnelle"),
    "it": ("un", "uno", "una", "il", "lo", "la", "l", "i", "gli", "le", "di", "del", "della", "dell", "in", "nel",
           "nella", "nell", "da", "dal", "dalla", "dall", "al", "alla", "all", "e", "o",
           "per", "con", "cerco", "canzone", "canzoni", "brano", "melodia", "tonalità", "tempo", "canto",
           "popolare", "canzone popolare", "tradizionale"),
    "es": ("un", "una", "unos", "unas", "el", "la", "los", "las", "de", "del", "en", "y", "o", "para", "con",
           "busco", "canción", "canciones", "pieza", "melodía", "tono", "tonalidad", "compás", "modo", "popular",
           "canción popular", "tradicional"),
}

# Meters a dance type is written in, for the note on a contradiction ("a reel in 3/4"); types not listed
# come in any meter. "C" and "C|" are read as 4/4 and 2/2.
TYPICAL_METERS: dict[str, tuple[str, ...]] = {
    "reel": ("4/4", "2/2"), "jig": ("6/8", "12/8"), "slip jig": ("9/8",), "hornpipe": ("4/4", "2/4", "2/2"),
    "strathspey": ("4/4", "2/2"), "polka": ("2/4",), "waltz": ("3/4", "3/8"), "mazurka": ("3/4",),
    "minuet": ("3/4", "3/8"), "slide": ("12/8", "6/8"),
}
