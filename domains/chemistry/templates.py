"""The reaction-template library of ``chemistry.reaction-product``: SMARTS by reaction class.

Each :class:`Template` is an RDKit reaction SMARTS over one or two reactants, giving the main
product only (leaving groups and by-products are dropped). ``prior`` ranks templates against
each other; ``context`` lists conditions (reagents, catalysts) that make a class likely, each
with a bonus added to the score when a matching component is present, and ``missing`` is
added when none of the ``needs`` conditions is present. Scores are log-odds-like: candidates
are ranked by them and their softmax is reported.

The library is data: the recipe stores it as a JSON artifact, so a registered version names
exactly the templates it applies.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Reusable SMARTS fragments -----------------------------------------------------------------
# A nucleophilic N-H amine: primary or secondary, aliphatic or aniline-type; not an amide,
# sulfonamide, urea, amidine, hydrazine or hydroxylamine nitrogen.
AMINE = "[NX3;H2,H1;!$(N-[C,S,P]=[O,S,N]);!$(N-[#7,#8]);!$(N-C#N)]"
# A carboxylic acid carbon (formic acid included; carbonic and carbamic acids not).
ACID_C = "[CX3;$(C(-[#6])(=O)-[OX2H1]),$([CH1](=O)-[OX2H1])]"
ACYL_CL_C = "[CX3;$(C(-[#6])(=O)Cl)]"
# An alcohol or phenol O-H, not an acid's.
ALCOHOL = "[OX2H1;$(O-[CX4]),$(O-c);!$(O-[#6]=*)]"
# An aromatic carbon activated for nucleophilic substitution: ortho/para to ring N, nitro or
# cyano.
ACTIVATED_C = (
    "[c;$(c:n),$(c:c:c:n),$(c:c-[N+](=O)[O-]),$(c:c:c:c-[N+](=O)[O-]),$(c:c-C#N),$(c:c:c:c-C#N)]"
)
BORON = "[B;$(B(-[OX2])-[OX2]),$([B-](F)(F)F)]"
ALDEHYDE_OR_KETONE_C = "[CX3;$([CH1](=O)-[#6]),$([CH2]=O),$(C(=O)(-[#6])-[#6]);!$(C(=O)-[O,N,S])]"
ALKYL_C = "[CX4;H1,H2,H3;!$(C(F)(F)F);!$(C-[O,N])]"
# An alkyl carbon bearing one halogen (not CH2Cl2 or CHCl3, not an alpha-hetero carbon).
ALKYL_HALIDE_C = "[CX4;H1,H2,H3;!$(C([Cl,Br,I])[F,Cl,Br,I]);!$(C-[O,N,S])]"
LEAVING = {
    "I": ("I", 0.6),
    "Br": ("Br", 0.4),
    "OTf": ("O-S(=O)(=O)-C(F)(F)F", 0.3),
    "Cl": ("Cl", 0.0),
}


@dataclass(frozen=True)
class Condition:
    """A condition recognised in the components: any of ``smarts`` matching one of them."""

    name: str
    smarts: tuple[str, ...]
    exact: bool = True  # the whole component is the reagent (else: contains the pattern)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "smarts": list(self.smarts), "exact": self.exact}


@dataclass(frozen=True)
class Template:
    name: str  # the rule's name returned with each candidate
    reaction_class: str
    smarts: str
    prior: float = 0.0
    context: dict[str, float] = field(default_factory=dict)  # condition -> bonus
    needs: tuple[str, ...] = ()  # conditions without which ``missing`` applies
    missing: float = 0.0
    required: bool = False  # never applied without one of ``needs``
    exhaustive: bool = False  # a one-reactant template applied until nothing matches
    then: str = ""  # a two-reactant template's product reacts again by this rule's templates

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["needs"] = list(self.needs)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Template:
        return cls(**{**d, "needs": tuple(d.get("needs", ())), "context": dict(d["context"])})


CONDITIONS = (
    Condition("pd_or_ni", ("[Pd]", "[Ni]"), exact=False),
    Condition(
        "coupling_agent",
        (
            "CN(C)C(=[N+](C)C)On1nnc2cccnc21",  # HATU
            "CN(C)C(On1nnc2ccccc21)=[N+](C)C",  # HBTU, TBTU
            "C(=NC1CCCCC1)=NC1CCCCC1",  # DCC
            "CC(C)N=C=NC(C)C",  # DIC
            "CCN=C=NCCCN(C)C",  # EDC
            "CCN=C=NCCC[NH+](C)C",  # EDC hydrochloride
            "O=C(n1ccnc1)n1ccnc1",  # CDI
            "CCCP1(=O)OP(=O)(CCC)OP(=O)(CCC)O1",  # T3P
            "On1nnc2ccccc21",  # HOBt
            "On1nnc2cccnc21",  # HOAt
            "C1CCN(C1)[P+](N1CCCC1)(N1CCCC1)On1nnc2ccccc21",  # PyBOP
            "O=S(Cl)Cl",  # thionyl chloride (via the acyl chloride)
        ),
    ),
    Condition(
        "hydride_reductant",
        ("[BH3-]C#N", "[BH-](OC(C)=O)(OC(C)=O)OC(C)=O", "[BH4-]", "[BH3]C#N", "[BH4]"),
    ),
    Condition(
        "borohydride",
        (
            "[BH4-]",
            "[BH4]",
            "[Na][BH4]",
            "[Li][BH4]",
            "CCC(C)[BH-](C(C)CC)C(C)CC",  # L- and K-Selectride
            "CC[BH-](CC)CC",  # Super-Hydride
        ),
    ),
    Condition(
        "aluminium_hydride",
        ("[AlH4-]", "[AlH4]", "[Li][AlH4]"),
    ),
    Condition("dibal", ("CC(C)C[AlH]CC(C)C",)),  # esters and nitriles to aldehydes
    Condition(
        "strong_acid",
        (
            "[OH]C(=O)C(F)(F)F",  # TFA
            "[ClH]",
            "[BrH]",
            "[OH]S(=O)(=O)[OH]",
            "Cc1ccc(cc1)S(=O)(=O)[OH]",
            "[OH]S(=O)(=O)C",
            "CC1(C)C2CCC1(CS(=O)(=O)[OH])C(=O)C2",  # CSA
            "[#1+]",
        ),
    ),
    Condition("hydroxide", ("[OH-]", "[OH]-[Li,Na,K,Cs]")),
    Condition("water", ("[OH2]",)),
    Condition(
        "base",
        (
            "[#1-]",  # NaH
            "[Na&H1]",
            "[O-]C([O-])=O",
            "[O-]C(=O)[OH]",
            "CC(C)(C)[O-]",
            "C[O-]",
            "CC[O-]",
            "[OH-]",
            "CCN(CC)CC",
            "CCN(C(C)C)C(C)C",
            "[O-]P(=O)([O-])[O-]",
            "C1CCC2=NCCCN2CC1",  # DBU
            "c1ccncc1",  # pyridine
            "CN(C)c1ccncc1",  # DMAP
            "[F-]",
        ),
    ),
    # strong bases by substructure: alkyllithiums, lithium amides, silylamides
    Condition("strong_base", ("[Li]-[#6]", "[Li]-[#7]", "[N-]([Si])[Si]", "[#6-]"), exact=False),
    # H2 ([H][H], [HH]) or a transfer-hydrogenation donor (formate, hydrazine) on a metal
    Condition("hydrogen", ("[#1]-[#1]", "[#1;H1]", "[O-]C=O", "NN")),
    Condition("hydrogenation_metal", ("[Pd]", "[Pt]", "[Ni]", "[Rh]", "[Ru]"), exact=False),
    Condition("reducing_metal", ("[Fe]", "[Zn]", "[Sn]", "Cl[Sn]Cl", "[In]")),
    Condition("dithionite", ("O=S([O-])S(=O)[O-]",)),
    Condition("copper", ("[Cu]",), exact=False),
    Condition(
        "mild_oxidant",
        (
            "[Cr](=O)(=O)Cl",  # PCC
            "[#53;X3,X4,X5](~[#8])(~[#8])~[#8]",  # Dess-Martin periodinane, IBX
            "[OX1;H0;+0]-[NX3;+0](-[CX4])-[CX4]",  # TEMPO
            "O=[Mn]=O",  # MnO2
        ),
        exact=False,
    ),
    Condition("strong_oxidant", ("[Cr;!$([Cr]Cl)](=O)=O", "[Mn](=O)(=O)=O"), exact=False),
    Condition("swern_activator", ("O=C(Cl)C(=O)Cl", "O=C(OC(=O)C(F)(F)F)C(F)(F)F")),
    Condition("dmso", ("CS(C)=O",)),
    Condition("fmoc_base", ("C1CCNCC1", "CC1CCNCC1", "CCNCC", "C1CCC2=NCCCN2CC1", "C1COCCN1")),
    Condition("phosphine", ("c1ccc(P(c2ccccc2)c2ccccc2)cc1", "CCCCP(CCCC)CCCC")),
    Condition("azodicarboxylate", ("O=C-N=N-C=O",), exact=False),
)

# The needs of reactions with a reagent (any one alternative; ``a+b`` needs both)
HYDROGENATION = "hydrogen+hydrogenation_metal"


def _cross_coupling(name: str, cls: str, nucleophile: str, product: str) -> list[Template]:
    out = []
    for leaving, bonus in LEAVING.values():
        out.append(
            Template(
                name=name,
                reaction_class=cls,
                smarts=f"[c:1]-{leaving}.{nucleophile}>>{product}",
                prior=bonus,
                context={"pd_or_ni": 3.0, "base": 0.3},
                needs=("pd_or_ni",),
                required=True,
            )
        )
    return out


def _map(smarts: str, n: int) -> str:
    """A one-atom SMARTS ``[...]`` with atom-map number ``n``."""
    return f"{smarts[:-1]}:{n}]"


def _acylations(name: str, nucleophile: str, atom: str, acid: dict[str, float]) -> list[Template]:
    """An acid (with ``acid`` condition bonuses, one of which it needs) and an acyl chloride
    acylating ``nucleophile``, the acyl chloride being the more reactive partner."""
    product = f">>[C:1](=[O:2])-[{atom}:3]"
    cls = name.replace("_", " ")
    return [
        Template(
            name,
            cls,
            f"{_map(ACID_C, 1)}(=[O:2])-[OX2H1].{_map(nucleophile, 3)}{product}",
            prior=0.5 if atom == "N" else 0.0,
            context=acid,
            needs=tuple(acid),
            required=True,
        ),
        Template(
            name,
            cls,
            f"{_map(ACYL_CL_C, 1)}(=[O:2])-Cl.{_map(nucleophile, 3)}{product}",
            prior=1.5 if atom == "N" else 1.0,
            context={"base": 0.5},
        ),
    ]


def default_templates() -> list[Template]:
    """The library the recipe registers (order does not matter: candidates are scored)."""
    from domains.chemistry.reaction_rules import common_templates

    t = _acylations("amide_coupling", AMINE, "N", {"coupling_agent": 3.0})
    t += _acylations("esterification", ALCOHOL, "O", {"strong_acid": 2.0, "coupling_agent": 2.0})
    t += _cross_coupling(
        "suzuki_miyaura", "Suzuki-Miyaura coupling", f"[c,$(C=C):2]-{BORON}", "[c:1]-[*:2]"
    )
    t += _cross_coupling(
        "buchwald_hartwig", "Buchwald-Hartwig amination", _map(AMINE, 2), "[c:1]-[N:2]"
    )
    for nu, label, prior in ((AMINE, "N", 0.5), (ALCOHOL, "O", 0.0), ("[SX2H1]", "S", 0.3)):
        for leaving, bonus in (("F", 0.5), ("Cl", 0.2), ("Br", 0.0)):
            t.append(
                Template(
                    "snar",
                    "nucleophilic aromatic substitution",
                    f"{_map(ACTIVATED_C, 1)}-{leaving}.{_map(nu, 2)}>>[c:1]-[{label}:2]",
                    prior=prior + bonus,
                    context={"base": 0.7},
                )
            )
    t += [
        Template(
            "reductive_amination",
            "reductive amination",
            f"{_map(ALDEHYDE_OR_KETONE_C, 1)}=[OX1].{_map(AMINE, 2)}>>[C:1]-[N:2]",
            prior=0.0,
            context={"hydride_reductant": 3.5, "borohydride": 3.0},
            needs=("hydride_reductant", "borohydride"),
            required=True,
        ),
        Template(
            "boc_deprotection",
            "Boc deprotection",
            "[N:1]-C(=O)-O-C(-[CH3])(-[CH3])-[CH3]>>[N:1]",
            prior=0.0,
            context={"strong_acid": 3.5},
            needs=("strong_acid",),
            required=True,
            exhaustive=True,
        ),
        Template(
            "ester_hydrolysis",
            "ester deprotection",
            "[CX3;$(C(=O)(-[#6,#1])-O-[CX4]):1](=[O:2])-[OX2:3]-[CX4]>>[C:1](=[O:2])-[O:3]",
            prior=-0.5,
            context={"hydroxide": 3.5, "strong_acid": 2.0},
            needs=("hydroxide", "strong_acid+water"),
            required=True,
        ),
        Template(  # a tert-butyl ester is cleaved by acid alone (TFA)
            "ester_hydrolysis",
            "ester deprotection",
            "[CX3;$(C(=O)-[#6,#1]):1](=[O:2])-[OX2:3]-C(-[CH3])(-[CH3])-[CH3]>>[C:1](=[O:2])-[O:3]",
            prior=-0.5,
            context={"strong_acid": 3.5, "hydroxide": 1.0},
            needs=("strong_acid", "hydroxide"),
            required=True,
        ),
        Template(
            "williamson_ether",
            "Williamson ether synthesis",
            f"{_map(ALCOHOL, 1)}.{_map(ALKYL_HALIDE_C, 2)}-[Cl,Br,I]>>[O:1]-[C:2]",
            prior=0.3,
            context={"base": 2.0},
            needs=("base", "strong_base"),
            required=True,
        ),
    ]
    return t + common_templates()
