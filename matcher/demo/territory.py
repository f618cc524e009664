"""The demo territory's reference tables: trades, places, poles, names, SIREN sequences.

Trades are real NAF rév. 2 sub-classes weighted like the trades of small-firm collective
procedures, each with name words and registry-style activity texts. Places are real communes of
Loire-Atlantique (44), Maine-et-Loire (49) and Vendée (85) from ``reprise_data/demo_places.csv``,
or any places table (the national communes file's column names are accepted). Poles: one by
département (44), one by a list of communes (Angers area and the Mauges, with a few communes of
44 and 85 so that poles overlap), one by département (85); the Saumurois belongs to no pole, and
outside these three départements every département has a pole named ``ptce-<département>``.
Used by :mod:`matcher.demo.build`.
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from matcher.reference.text import strip_accents

# Value-chain neighbours between NAF divisions (a bakery and a flour mill, a builder and a joinery).
_CHAIN = ((41, 43), (41, 71), (43, 71), (43, 16), (43, 25), (43, 46), (16, 31), (1, 10), (1, 46),
          (1, 11), (3, 10), (10, 47), (10, 56), (10, 46), (11, 56), (55, 56), (47, 56), (45, 47),
          (45, 49), (49, 52), (49, 53), (38, 81), (47, 96), (62, 70), (62, 73), (62, 95),
          (70, 73), (14, 47), (15, 47), (14, 15), (25, 33), (18, 73), (41, 68), (22, 25))
RELATED = np.zeros((100, 100), dtype=bool)
for _a, _b in _CHAIN:
    RELATED[_a, _b] = RELATED[_b, _a] = True

LABOUR_INTENSIVE = np.zeros(100, dtype=bool)
LABOUR_INTENSIVE[[1, 10, 14, 15, 16, 25, 41, 43, 49, 55, 56, 81, 88, 96]] = True

# code|weight among companies in difficulty|name words|registry-style activities
_TRADES = """\
41.20A|3|Constructions;Maisons|construction de maisons individuelles;constructeur de maisons
43.99C|8|Maçonnerie|maçonnerie générale;maconnerie gros oeuvre;maçonnerie, carrelage;travaux de maçonnerie et rénovation
43.21A|5|Électricité;Elec|électricité générale;electricien batiment;installation électrique;électricité, domotique
43.22A|5|Plomberie|plomberie chauffage;plombier chauffagiste;plomberie sanitaire
43.22B|2|Thermique;Clim|chauffage climatisation;pose de pompes à chaleur
43.31Z|4|Plâtrerie|plaquiste;plâtrerie isolation;platrerie plaques de platre;plâtrerie, peinture
43.32A|4|Menuiserie|menuiserie bois et pvc;pose de menuiseries;menuisier poseur;menuiserie agencement
43.34Z|4|Peinture;Déco|peinture en bâtiment;peintre décorateur;peinture et ravalement
43.33Z|2|Carrelage|carrelage;carreleur faïence;pose de revêtements de sols et murs
43.91B|3|Couverture|couverture zinguerie;couvreur;couverture, charpente, zinguerie
43.12A|2|Terrassement;TP|terrassement;travaux de terrassement et assainissement
43.29A|1|Isolation|isolation thermique;travaux d'isolation
43.39Z|1|Rénovation;Multiservices|petits travaux de rénovation;multi-services bâtiment
56.10A|10|Restaurant;Auberge;Bistrot|restaurant traditionnel;restauration traditionnelle;brasserie restaurant;crêperie
56.10C|6|Snack;Pizza|restauration rapide;snack kebab;pizzeria à emporter;food truck
56.30Z|5|Café;Bar|cafe bar brasserie;bar tabac;débit de boissons;bar PMU presse
56.21Z|1|Traiteur|traiteur;traiteur, organisation de réceptions
55.10Z|1.5|Hôtel|hôtel restaurant;hôtellerie
55.30Z|0.7|Camping|camping;terrain de camping et caravaning
47.11B|1.5|Épicerie|épicerie;épicerie fine;alimentation générale
47.22Z|1.5|Boucherie|boucherie charcuterie;boucherie;boucher traiteur
47.71Z|3|Boutique;Mode|prêt-à-porter;vente de vêtements;boutique de vêtements femme
47.76Z|1.5|Fleurs|fleuriste;vente de fleurs et plantes
47.26Z|1|Tabac Presse|bureau de tabac presse;tabac, presse, loto
47.52A|0.8|Quincaillerie|quincaillerie;droguerie quincaillerie
47.78C|1|Déco;Cadeaux|vente de cadeaux et décoration;articles de décoration
47.91B|1.5|Web Shop|vente en ligne;e-commerce;vente à distance sur catalogue
47.81Z|1|Primeur|commerce ambulant alimentaire sur marchés;primeur sur les marchés
45.20A|5|Garage;Auto|garage mécanique automobile;réparation automobile;mecanique generale auto;carrosserie peinture automobile
45.11Z|2|Automobiles|vente de véhicules d'occasion;négoce automobiles
45.40Z|0.5|Motos|vente et réparation de motocycles
49.41A|3|Transports|transport routier de marchandises;transports de marchandises
49.41B|3|Transports;Express|transport de marchandises de proximité;messagerie, livraison
49.32Z|2|Taxi|taxi;exploitation de taxi, vtc
49.42Z|0.8|Déménagements|déménagement;déménagements et garde-meubles
96.02A|5|Coiffure|coiffure mixte;salon de coiffure;coiffeur;coiffure hommes barbier
96.02B|3|Institut;Beauté|institut de beauté;esthétique;onglerie
81.21Z|4|Nettoyage;Propreté|nettoyage de locaux;nettoyage industriel;entretien de bureaux
81.30Z|3|Paysage;Jardins|paysagiste;entretien d'espaces verts;création de jardins
10.71C|4|Boulangerie;Fournil|boulangerie pâtisserie;boulangerie;boulanger pâtissier
10.71D|1|Pâtisserie|pâtisserie;pâtisserie chocolaterie
10.13B|1|Charcuterie|charcuterie;charcuterie traiteur;salaisons
10.61A|0.3|Minoterie|meunerie;minoterie
10.51C|0.4|Fromagerie|fromagerie;fabrication de fromages
11.05Z|0.3|Bières|brasserie artisanale;fabrication de bière
01.21Z|1.5|Vignoble;Domaine|viticulture;exploitation viticole;vigneron
01.41Z|1.5|Ferme;GAEC|élevage bovin lait;exploitation laitière
01.13Z|1.5|Maraîchage|maraîchage;culture de légumes;maraîcher bio
01.47Z|1|Volailles|élevage de volailles;aviculture
01.61Z|0.5|Travaux Agricoles|travaux agricoles;entreprise de travaux agricoles
03.11Z|0.4|Pêche|pêche en mer;armement de pêche
70.22Z|3|Conseil|conseil en gestion;conseil aux entreprises;conseil en organisation
62.01Z|2|Informatique;Digital|développement de logiciels;programmation informatique;création de sites internet
62.02A|1|Informatique|conseil informatique;conseil en systèmes informatiques
95.11Z|0.8|Info Services|dépannage informatique;réparation d'ordinateurs
73.11Z|1|Communication|agence de communication;agence de publicité
71.12B|1|Études|bureau d'études techniques;ingénierie du bâtiment
68.31Z|1|Immobilier|agence immobilière;transaction immobilière
16.23Z|1.5|Charpente;Bois|fabrication de menuiseries;charpente bois;menuiserie fabrication
25.62B|1.5|Mécanique;Usinage|usinage;mécanique de précision;mécanique industrielle
25.11Z|1|Métallerie|métallerie serrurerie;chaudronnerie;construction métallique
31.09B|0.5|Ébénisterie|ébénisterie;fabrication de meubles
18.12Z|0.5|Imprimerie|imprimerie;impression numérique
14.13Z|0.5|Confection|confection textile;fabrication de vêtements
15.20Z|0.5|Chaussures|fabrication de chaussures
46.73A|0.5|Matériaux|négoce de matériaux de construction;négoce bois et matériaux
88.10A|1|Aide à Domicile|aide à domicile;services à la personne
88.91A|0.5|Crèche|micro-crèche;accueil de jeunes enfants
93.13Z|0.5|Fitness|salle de sport;centre de remise en forme
85.53Z|0.7|Auto-École|auto-école;enseignement de la conduite
38.32Z|0.4|Recyclerie|ressourcerie;recyclage;récupération de déchets triés
90.01Z|0.4|Compagnie|spectacle vivant;compagnie de théâtre"""
_T = [line.split("|") for line in _TRADES.splitlines()]
TRADE_CODES = np.array([t[0] for t in _T], dtype=object)
TRADE_DIV = np.array([int(t[0][:2]) for t in _T])
TRADE_WEIGHTS = np.array([float(t[1]) for t in _T])
# How much each kind of candidate over-represents a division (cooperatives: building, IT, industry).
KIND_BIAS = {"company": {41: 2, 46: 4, 16: 2, 25: 2},
             "pole_member": {88: 4, 38: 6, 81: 2, 90: 4, 1: 2},
             "cooperative": {43: 2, 62: 3, 70: 2, 25: 3, 49: 2, 18: 4, 88: 2, 38: 4, 71: 3,
                             47: 0.3, 96: 0.3},
             "repreneur": {}, "employee_group": {}}
KINDS = ("company", "pole_member", "cooperative", "repreneur", "employee_group")
KIND_SHARES = (0.45, 0.25, 0.10, 0.15, 0.05)
PROCEDURES = ("none", "mandat_ad_hoc", "conciliation", "sauvegarde", "redressement", "liquidation")
PROCEDURE_SHARES = (0.03, 0.07, 0.10, 0.08, 0.27, 0.45)
POLES = (  # id, name, departements, communes, cooperative_support, advisors
    ("ptce-estuaire", "PTCE Estuaire Coopérations", "44", "", True,
     ("Claire Guérin", "Yann Le Goff", "Nadia Benali")),
    ("ptce-anjou-mauges", "PTCE Anjou Mauges Solidaires", "",
     "49007;49099;49015;49353;49246;49267;49020;49214;49223;49331;49023;49301;49092;49244;49069;"
     "49063;49050;49347;44003;44212;85151", True, ("Marc Rabiller", "Élise Cesbron")),
    ("ptce-bocage", "PTCE Bocage Vendéen", "85", "", False, ("Julien Gaborit", "Anne Chiron")),
)
# Cases outside any pole are followed by the chambers.
ADVISORS = {p[0]: list(p[5]) for p in POLES} | {"": ["Sophie Ripoche (CCI)", "Paul Biteau (CMA)"]}
SURNAMES = np.array(["Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau", "Laurent", "Simon", "Michel", "Leroy", "Roux", "David", "Bertrand", "Morel", "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent", "Guérin", "Boucher", "Chevalier", "Gautier", "Perrin", "Robin", "Clément", "Morin", "Nicolas", "Henry", "Mathieu", "Masson", "Marchand", "Duval", "Denis", "Dumont", "Lemaire", "Noël", "Brun", "Blanchard", "Giraud", "Joly", "Lucas", "Brunet", "Gaillard", "Barbier", "Arnaud", "Roche", "Renard", "Roy", "Colin", "Caron", "Picard", "Aubert", "Renaud", "Hervé", "Hamon", "Tessier", "Chauvin", "Pasquier", "Bretaud", "Chiron", "Bossard", "Rabiller", "Charrier", "Gaborit", "Biteau", "Jaunet", "Ripoche", "Cesbron", "Brochard", "Bouyer", "Gouraud", "Rautureau", "Chupin", "Guilbaud", "Audureau", "Papin", "Baudry"], dtype=object)
FIRST_NAMES = np.array(["Marie", "Nathalie", "Isabelle", "Sylvie", "Catherine", "Sandrine", "Valérie", "Christine", "Céline", "Julie", "Sophie", "Aurélie", "Camille", "Léa", "Emma", "Jean", "Philippe", "Michel", "Alain", "Patrick", "Nicolas", "Christophe", "Pierre", "Stéphane", "Laurent", "Frédéric", "Julien", "Thomas", "David", "Sébastien", "Antoine", "Maxime", "Hugo", "Lucas", "Karim", "Mohamed", "Yann", "Erwan"], dtype=object)
PRODUCTIVITY = np.full(100, 90_000.0)  # turnover per employee, EUR
PRODUCTIVITY[[47, 46, 45, 41, 1, 49, 43, 56, 81, 96, 88]] = (
    160e3, 300e3, 180e3, 150e3, 140e3, 110e3, 100e3, 70e3, 35e3, 50e3, 35e3)
DESCRIPTIONS = np.array([
    "fonds de commerce", "bail commercial 3-6-9", "locaux en propriété", "matériel récent",
    "deux véhicules utilitaires", "clientèle de particuliers", "clientèle professionnelle fidèle",
    "salariés qualifiés", "carnet de commandes de trois mois", "savoir-faire reconnu",
], dtype=object)


def _ragged(lists: list[list[str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    flat = np.array([x for sub in lists for x in sub], dtype=object)
    counts = np.array([len(sub) for sub in lists])
    return flat, np.concatenate([[0], np.cumsum(counts)[:-1]]), counts


def pick_index(rng: np.random.Generator, ragged: tuple, idx: np.ndarray) -> np.ndarray:
    """For each row's list ``idx``, the flat index of one of its items, uniformly."""
    _, offsets, counts = ragged
    return offsets[idx] + (rng.random(len(idx)) * counts[idx]).astype(np.int64)


def pick(rng: np.random.Generator, ragged: tuple, idx: np.ndarray) -> np.ndarray:
    return ragged[0][pick_index(rng, ragged, idx)]


WORDS = _ragged([t[2].split(";") for t in _T])
ACTIVITIES = _ragged([t[3].split(";") for t in _T])
# Registry notices as they come: accents dropped, upper case, a letter missing.
ACTIVITY_VARIANTS = np.array([[a, strip_accents(a), a.upper(), a[: len(a) // 2] + a[len(a) // 2 + 1:]]
                              for a in ACTIVITIES[0]], dtype=object)
# Names from a trade word and a surname, by pattern (precomputed: 40,000 strings, no work per row).
_NAMES = np.array([[[w + " " + s, s + " " + w, "Ets " + s, w + " " + s + " et Fils"]
                    for s in SURNAMES] for w in WORDS[0]], dtype=object).transpose(2, 0, 1)
# Trades of the same division (a repreneur's other experience).
SIBLINGS = _ragged([list(np.flatnonzero(v == TRADE_DIV)) for v in TRADE_DIV])
_CHAIN_OF = [next((f";{d:02d}" for d in range(100) if RELATED[v, d]), "") for v in TRADE_DIV]
# sought_naf choices by trade: nothing, division, group, class, sub-class, division + value chain
SOUGHT = np.array([[None, c[:2], c[:4], c[:5], c, c[:2] + r]
                   for c, r in zip(TRADE_CODES, _CHAIN_OF)], dtype=object)
SOUGHT_SHARES = {"company": (.45, .2, .1, .08, .07, .1),
                 "pole_member": (.55, .15, .1, .05, .05, .1),
                 "cooperative": (.4, .25, .1, .05, .05, .15),
                 "repreneur": (.25, .3, .15, .1, .1, .1),
                 "employee_group": (.1, .1, .1, .1, .6, 0)}


def siren_seq(key: np.random.Generator, firsts: tuple[int, ...]):
    """A random-looking bijection ``i -> SIREN`` (an affine map modulo the space of 8-digit bodies
    starting with ``firsts``, then the Luhn check digit): SIRENs are distinct by design."""
    m = len(firsts) * 10**7
    a = int(key.integers(10**6, m))
    while math.gcd(a, m) != 1:
        a += 1
    b, first = int(key.integers(0, m)), np.asarray(firsts, dtype=np.int64)

    def take(idx: np.ndarray) -> np.ndarray:
        body = (a * np.asarray(idx, dtype=np.int64) + b) % m
        x = first[body // 10**7] * 10**7 + body % 10**7
        digits = (x[:, None] // 10 ** np.arange(7, -1, -1)) % 10
        doubled = digits[:, 1::2] * 2
        total = digits[:, 0::2].sum(1) + (doubled - 9 * (doubled > 9)).sum(1)
        sirens = (x * 10 + (10 - total % 10) % 10).tolist()
        return np.array(list(map(str, sirens)), dtype=object)
    return take


def demo_places() -> pd.DataFrame:
    """The demo communes (``insee,commune,postal_code,departement,lat,lon,population``)."""
    try:
        src = resources.files("reprise_data") / "demo_places.csv"
    except ModuleNotFoundError:  # a source checkout that was not installed
        src = Path(__file__).resolve().parents[1] / "data" / "demo_places.csv"
    with src.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype={"insee": str, "postal_code": str, "departement": str})


def of_place(name: str) -> str:
    """``de Nantes``, ``du Pellerin``, ``des Sables-d'Olonne``, ``d'Angers``."""
    contractions = (("Le ", "du "), ("Les ", "des "), ("La ", "de la "), ("L'", "de l'"))
    for article, contracted in contractions:
        if name.startswith(article):
            return contracted + name[len(article):]
    return ("d'" if strip_accents(name[:1]) in "AEIOUY" else "de ") + name


_PLACE_ALIASES = {"insee_com": "insee", "code_postal": "postal_code", "lng": "lon",
                  "population_2021": "population"}


def _codes(values: pd.Series) -> np.ndarray:
    """INSEE or postal codes as 5-character strings, also when a reader made numbers of them."""
    text = values.astype(str).str.replace(r"\.0$", "", regex=True)
    return text.str.zfill(5).to_numpy(object)


class Places:
    """Places as arrays: where rows are put, their poles, and the ``de <commune>`` of names.

    Takes ``insee,postal_code,lat,lon,population`` (and ``commune``, the name, when present);
    the national communes file's own column names are accepted too.
    """

    def __init__(self, places: pd.DataFrame | None):
        df = demo_places() if places is None else places
        df = df.rename(columns={k: v for k, v in _PLACE_ALIASES.items() if v not in df.columns})
        df = df.dropna(subset=["lat", "lon"]).drop_duplicates("insee")
        self.insee, self.postal = _codes(df["insee"]), _codes(df["postal_code"])
        self.lat, self.lon = df["lat"].to_numpy(float), df["lon"].to_numpy(float)
        population = pd.to_numeric(df.get("population", pd.Series(1000, index=df.index)),
                                   errors="coerce")
        self.pop = np.maximum(population.fillna(50).to_numpy(float), 50)
        insee = pd.Series(self.insee)
        self.dep = np.where(insee.str.startswith("97"), insee.str[:3], insee.str[:2]).astype(object)
        name = next((c for c in ("commune_article", "commune") if c in df.columns), None)
        self.de = (None if name is None
                   else np.array([of_place(str(n)) for n in df[name]], dtype=object))
        # Poles containing each place: the three demo poles, else one pole per other département.
        names = np.array([p[0] for p in POLES], dtype=object)
        member = np.stack([self.dep == "44", np.isin(self.insee, POLES[1][3].split(";")),
                           self.dep == "85"], axis=1)
        order, count = np.argsort(~member, axis=1, kind="stable"), member.sum(1)
        other = np.where(np.isin(self.dep, ["44", "49", "85"]), "", "ptce-" + self.dep)
        self.pole1 = np.where(count >= 1, names[order[:, 0]], other).astype(object)
        self.pole2 = np.where(count >= 2, names[order[:, 1]], "").astype(object)
        self.weight = self.pop**0.7 / (self.pop**0.7).sum()

    def locate(self, rng: np.random.Generator, n: int, in_pole: bool = False):
        """Place index and jittered lat/lon (a few km, wider in big towns) for ``n`` rows."""
        w = self.weight * (self.pole1 != "") if in_pole else self.weight
        k = rng.choice(len(self.lat), size=n, p=w / w.sum())
        sd = np.clip(0.5 + 0.15 * np.sqrt(self.pop[k] / 1000), 0.6, 4.0)
        lat = self.lat[k] + rng.normal(size=n) * sd / 111.2
        lon = self.lon[k] + rng.normal(size=n) * sd / (111.2 * np.cos(np.radians(lat)))
        return k, np.round(lat, 5), np.round(lon, 5)

    def names(self, rng: np.random.Generator, k: np.ndarray, word: np.ndarray) -> np.ndarray:
        """Firm names from a trade word (flat index into ``WORDS``) and a surname or the place
        (``Plomberie Guérin``, ``Ets Guérin``, ``Plomberie de Clisson``)."""
        n = len(k)
        surname = rng.integers(len(SURNAMES), size=n)
        pattern = rng.choice(5, size=n, p=(.3, .2, .1, .1, .3))
        out = _NAMES[np.minimum(pattern, 3), word, surname]
        if self.de is not None:  # the only pattern that needs string work per row
            m = pattern == 4
            out[m] = WORDS[0][word[m]] + " " + self.de[k[m]]
        return out
