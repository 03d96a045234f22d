"""Reaction templates for the common reactions beyond the first nine classes.

N-alkylation, sulfonylation, ureas and carbamates, Boc/Cbz/Fmoc protection and removal, nitro
and carbonyl reduction, alcohol oxidation, Sonogashira, Heck, Negishi, Stille, CuAAC, Wittig,
Horner-Wadsworth-Emmons, Grignard and organolithium addition, Mitsunobu, Diels-Alder, alkene
hydrogenation, acetal formation and hydrolysis. Conditions are those of
:data:`domains.chemistry.templates.CONDITIONS`; every class that needs a reagent (a reductant,
an oxidant, a catalyst, acid and water, a base) is ``required``: without it, it is never
proposed. The evaluation reactions of these classes (``data/common_reactions.csv``,
``data/no_reaction_inputs.csv``) were written before these rules, from the literature.
"""

from __future__ import annotations

from dataclasses import replace

from domains.chemistry.templates import (
    ALCOHOL,
    ALDEHYDE_OR_KETONE_C,
    ALKYL_HALIDE_C,
    AMINE,
    HYDROGENATION,
    LEAVING,
    Template,
    _map,
)

CARBONYL = _map(ALDEHYDE_OR_KETONE_C, 2)
PD = {"pd_or_ni": 3.0, "base": 0.3}
ESTER_C = "[CX3;$(C(=O)(-[#6,#1])-O-[CX4]):2]"


def _t(name: str, cls: str, smarts: str, prior: float = 0.0, **kw: object) -> Template:
    return Template(name, cls, smarts, prior, **kw)  # type: ignore[arg-type]


def _with_leaving(
    name: str, cls: str, partner: str, product: str, *, aryl: str = "[c:1]", **kw: object
) -> list[Template]:
    """One template per aryl leaving group (I > Br > OTf > Cl), Pd or Ni required."""
    return [
        _t(name, cls, f"{aryl}-{lg}.{partner}>>{product}", bonus, context=PD,
           needs=("pd_or_ni",), required=True, **kw)
        for lg, bonus in LEAVING.values()
    ]  # fmt: skip


def _nitrogen_and_sulfur() -> list[Template]:
    """N-alkylation, sulfonylation, ureas, carbamates, Boc/Cbz/Fmoc on and off."""
    sulfonyl = "[SX4;$(S(=O)(=O)(-[#6])Cl):1](=[O:5])(=[O:6])-Cl"
    isocyanate = "[NX2:1]=[CX2:2]=[OX1:3]"
    out = [
        _t("n_alkylation", "N-alkylation", f"{_map(AMINE, 1)}.{_map(ALKYL_HALIDE_C, 2)}-[Cl,Br,I]"
           ">>[N:1]-[C:2]", 1.5, context={"base": 1.0}),
        _t("n_alkylation", "N-alkylation", f"{_map(AMINE, 1)}.[CX4;H2,H3:2]-O-S(=O)(=O)-[#6]"
           ">>[N:1]-[C:2]", 1.0, context={"base": 1.0}),
        _t("n_alkylation", "N-alkylation", "[NX3;H1,H2;$(N(C=O)C=O),$(N-S(=O)=O):1]."
           f"{_map(ALKYL_HALIDE_C, 2)}-[Cl,Br,I]>>[N:1]-[C:2]", 0.5, context={"base": 1.0,
           "strong_base": 1.5}, needs=("base", "strong_base"), required=True),
        _t("n_alkylation", "N-alkylation", f"[nX3;H1:1].{_map(ALKYL_HALIDE_C, 2)}-[Cl,Br,I]"
           ">>[n:1]-[C:2]", 0.5, context={"base": 1.0, "strong_base": 1.5},
           needs=("base", "strong_base"), required=True),
        _t("sulfonylation", "sulfonylation", f"{sulfonyl}.{_map(AMINE, 3)}"
           ">>[S:1](=[O:5])(=[O:6])-[N:3]", 2.0, context={"base": 0.5}),
        _t("sulfonylation", "sulfonylation", f"{sulfonyl}.{_map(ALCOHOL, 3)}"
           ">>[S:1](=[O:5])(=[O:6])-[O:3]", 1.0, context={"base": 0.5}),
        _t("urea_formation", "urea formation", f"{isocyanate}.{_map(AMINE, 4)}"
           ">>[N:1]-[C:2](=[O:3])-[N:4]", 2.0),
        _t("urea_formation", "urea formation", f"[NX3;H0:1]-[CX3:2](=[OX1:3])-Cl."
           f"{_map(AMINE, 4)}>>[N:1]-[C:2](=[O:3])-[N:4]", 1.5, context={"base": 0.5}),
        _t("carbamate_formation", "carbamate formation", f"{isocyanate}.{_map(ALCOHOL, 4)}"
           ">>[N:1]-[C:2](=[O:3])-[O:4]", 1.0, context={"base": 0.3}),
    ]  # fmt: skip
    # Carbamates from activated carbonates (chloroformate, dicarbonate, succinimidyl
    # carbonate), named by the group put on: Boc, Cbz, Fmoc or another carbamate.
    groups = {
        "boc_protection": "$(O-C(-[CH3])(-[CH3])-[CH3])",
        "cbz_protection": "$(O-[CH2]-c1ccccc1)",
        "fmoc_protection": "$(O-[CH2]-[CH1]1-c2ccccc2-c2ccccc21)",
    }
    other = ";".join("!" + g for g in groups.values())
    leaving = ("Cl", "O-C(=O)-O-[#6]", "O-N1-C(=O)-C-C-C1=O")
    for name, group in [*groups.items(), ("carbamate_formation", other)]:
        for lg in leaving:
            out.append(
                _t(name, name.replace("_", " ").replace("boc", "Boc").replace("cbz", "Cbz")
                   .replace("fmoc", "Fmoc"), f"[OX2;{group}:1]-[CX3:2](=[OX1:3])-{lg}."
                   f"{_map(AMINE, 4)}>>[O:1]-[C:2](=[O:3])-[N:4]", 2.0,
                   context={"base": 0.5})
            )  # fmt: skip
    out += [
        _t("cbz_deprotection", "Cbz deprotection", "[N:1]-C(=O)-O-[CH2]-c1ccccc1>>[N:1]", 0.0,
           context={"hydrogen": 3.5}, needs=(HYDROGENATION,), required=True, exhaustive=True),
        _t("fmoc_deprotection", "Fmoc deprotection",
           "[N:1]-C(=O)-O-[CH2]-[CH1]1-c2ccccc2-c2ccccc21>>[N:1]", 0.0,
           context={"fmoc_base": 3.5}, needs=("fmoc_base",), required=True, exhaustive=True),
    ]  # fmt: skip
    return out


def _redox() -> list[Template]:
    """Nitro, carbonyl and alkene reductions; alcohol oxidations."""
    nitro_needs = (HYDROGENATION, "reducing_metal", "dithionite")
    primary = "[CX4;H2;$(C(-[#6])-[OX2H1]);!$(C-[!#6;!#1;!$([OH1])]):1]-[OX2H1:2]"
    secondary = "[CX4;H1;$(C(-[#6])(-[#6])-[OX2H1]);!$(C-[!#6;!#1;!$([OH1])]):1]-[OX2H1:2]"
    mild = ("mild_oxidant", "swern_activator+dmso")
    return [
        _t("nitro_reduction", "nitro reduction", "[#6:1]-[N+:2](=O)[O-]>>[*:1]-[N+0:2]", 2.0,
           context={"hydrogen": 1.0, "reducing_metal": 1.0}, needs=nitro_needs, required=True,
           exhaustive=True),
        _t("carbonyl_reduction", "carbonyl reduction", f"{_map(ALDEHYDE_OR_KETONE_C, 1)}=[O:2]"
           ">>[C:1]-[O:2]", 1.0, context={"borohydride": 1.5, "aluminium_hydride": 2.0,
           "dibal": 1.5}, needs=("borohydride", "aluminium_hydride", "dibal"), required=True,
           exhaustive=True),
        # DIBAL stops at the aldehyde (an ester at -78 C, a nitrile after work-up)
        _t("carbonyl_reduction", "carbonyl reduction",
           "[CX3;$(C(=O)(-[#6,#1])-O-[CX4]):1](=[O:2])-[OX2]-[CX4]>>[C:1]=[O:2]", 1.0,
           context={"dibal": 2.0}, needs=("dibal",), required=True),
        _t("carbonyl_reduction", "carbonyl reduction", "[CX2;$(C-[#6]):1]#[NX1]>>[C:1]=O",
           1.0, context={"dibal": 2.0}, needs=("dibal",), required=True),
        _t("carbonyl_reduction", "carbonyl reduction",
           "[CX3;$(C(=O)(-[#6,#1])-O-[CX4]):1](=[O:2])-[OX2]-[CX4]>>[C:1]-[O:2]", 1.0,
           context={"aluminium_hydride": 2.0}, needs=("aluminium_hydride",), required=True,
           exhaustive=True),
        _t("carbonyl_reduction", "carbonyl reduction",
           "[CX3;$(C(=O)(-[#6,#1])-[NX3]);!$(C(=O)-N-C=O):1](=O)-[NX3:2]>>[C:1]-[N:2]", 1.0,
           context={"aluminium_hydride": 2.0}, needs=("aluminium_hydride",), required=True,
           exhaustive=True),
        _t("carbonyl_reduction", "carbonyl reduction",
           "[CX3;$(C(=O)(-[#6])-[OX2H1]):1](=[O:2])-[OX2H1]>>[C:1]-[O:2]", 1.0,
           context={"aluminium_hydride": 2.0}, needs=("aluminium_hydride",), required=True,
           exhaustive=True),
        _t("alkene_hydrogenation", "alkene hydrogenation", "[CX3:1]=[CX3:2]>>[C:1]-[C:2]",
           1.0, context={"hydrogen": 1.5}, needs=(HYDROGENATION,), required=True,
           exhaustive=True),
        _t("alcohol_oxidation", "alcohol oxidation", f"{primary}>>[C:1]=[O:2]", 1.0,
           context={"mild_oxidant": 2.0, "swern_activator": 2.0}, needs=mild, required=True),
        _t("alcohol_oxidation", "alcohol oxidation", f"{primary}>>[C:1](=[O:2])-[OH1]", 1.0,
           context={"strong_oxidant": 2.0}, needs=("strong_oxidant",), required=True),
        _t("alcohol_oxidation", "alcohol oxidation", f"{secondary}>>[C:1]=[O:2]", 1.0,
           context={"mild_oxidant": 2.0, "swern_activator": 2.0, "strong_oxidant": 2.0},
           needs=(*mild, "strong_oxidant"), required=True),
    ]  # fmt: skip


def _carbon_carbon() -> list[Template]:
    """Sonogashira, Heck, Negishi, Stille, CuAAC, Wittig, HWE, organometallic additions,
    Diels-Alder."""
    ylide_p = "[P;$(P(-c)(-c)-c)]"
    stabilised = "[CH1:1](-[C;$(C=O),$(C#N):3])"
    phosphonate = "[P;$(P(=O)(-O-[#6])-O-[#6])]"
    ewg = "$(C-[$(C=O),$(C#N)])"
    diene = "[C:1]=[C:2]-[C:3]=[C:4]"
    out = _with_leaving("sonogashira", "Sonogashira coupling", "[CH1:2]#[C:3]",
                        "[*:1]-[C:2]#[C:3]", aryl="[c,$([CX3]=C):1]")  # fmt: skip
    out = [replace(t, context={**t.context, "copper": 0.5}) for t in out]
    out += _with_leaving("heck", "Heck reaction", "[CH2:2]=[CH1:3]-[#6:4]",
                         "[c:1]/[CH1:2]=[CH1:3]/[*:4]")  # fmt: skip
    out += _with_leaving("negishi", "Negishi coupling", "[#6:2]-[Zn]", "[c:1]-[*:2]")
    stannane = "[c,$(C=C),$(C#C):2]-[Sn](-[CX4])(-[CX4])-[CX4]"
    out += _with_leaving("stille", "Stille coupling", stannane, "[c:1]-[*:2]")
    out += [
        _t("cuaac", "CuAAC (click)", "[#6:1]-[N:2]=[N+:3]=[N-:4].[CH1:5]#[C:6]"
           ">>[#6:1]-[n+0:2]1:[n+0:3]:[n+0:4]:[c:6]:[c:5]:1", 2.0, context={"copper": 2.0},
           needs=("copper",), required=True),
        # stabilised ylides and phosphonates give the (E)-alkene from an aldehyde
        _t("wittig", "Wittig olefination", f"[CH1:2](-[#6:5])=O.{stabilised}={ylide_p}"
           ">>[*:5]/[CH1:2]=[CH1:1]/[*:3]", 2.5),
        _t("wittig", "Wittig olefination", f"{CARBONYL}=O.[CX3:1]={ylide_p}>>[C:2]=[C:1]", 2.0),
        _t("wittig", "Wittig olefination", f"{CARBONYL}=O.[CX4;H2,H3:1]-[P+;$(P(-c)(-c)-c)]"
           ">>[C:2]=[C:1]", 2.0, context={"strong_base": 1.0, "base": 0.5},
           needs=("base", "strong_base"), required=True),
        _t("hwe", "Horner-Wadsworth-Emmons olefination", f"[CH1:2](-[#6:5])=O."
           f"[CH2:1](-[C;$(C=O),$(C#N):3])-{phosphonate}>>[*:5]/[CH1:2]=[CH1:1]/[*:3]", 2.5,
           context={"base": 1.0, "strong_base": 1.0}, needs=("base", "strong_base"),
           required=True),
        _t("hwe", "Horner-Wadsworth-Emmons olefination", f"{CARBONYL}=O."
           f"[CH2:1](-[C;$(C=O),$(C#N)])-{phosphonate}>>[C:2]=[C:1]", 2.0,
           context={"base": 1.0, "strong_base": 1.0}, needs=("base", "strong_base"),
           required=True),
        _t("grignard_addition", "Grignard addition", f"[#6:1]-[Mg].{CARBONYL}=[O:3]"
           ">>[*:1]-[C:2]-[O:3]", 1.5),
        _t("grignard_addition", "Grignard addition", "[#6:1]-[Mg].[O:2]=[C:3]=[O:4]"
           ">>[*:1]-[C:3](=[O:2])-[O:4]", 1.5),
        _t("organolithium_addition", "organolithium addition", f"[#6:1]-[Li].{CARBONYL}=[O:3]"
           ">>[*:1]-[C:2]-[O:3]", 1.0),
        # an ester takes two equivalents (through the ketone); a nitrile gives the ketone
        _t("grignard_addition", "Grignard addition", f"[#6:1]-[Mg].{ESTER_C}(=[O:3])-O-[CX4]"
           ">>[*:1]-[C:2]=[O:3]", 1.0, then="grignard_addition"),
        _t("organolithium_addition", "organolithium addition", f"[#6:1]-[Li].{ESTER_C}(=[O:3])"
           "-O-[CX4]>>[*:1]-[C:2]=[O:3]", 0.5, then="organolithium_addition"),
        _t("grignard_addition", "Grignard addition", "[#6:1]-[Mg].[CX2;$(C-[#6]):2]#[NX1]"
           ">>[*:1]-[C:2]=O", 1.0),
        # a Weinreb amide stops at the ketone
        _t("grignard_addition", "Grignard addition", "[#6:1]-[Mg].[CX3:2](=[O:3])-N(-[CH3])"
           "-O-[CH3]>>[*:1]-[C:2]=[O:3]", 2.0),
        _t("organolithium_addition", "organolithium addition", "[#6:1]-[Li].[CX3:2](=[O:3])"
           "-N(-[CH3])-O-[CH3]>>[*:1]-[C:2]=[O:3]", 2.0),
        # the same written as ions (a carbanion beside Li+ or MgBr+), a ylide as P+-C-
        _t("organolithium_addition", "organolithium addition",
           f"[#6;-1;!$([#6]-[P+]);!$([#6]#N):1].{CARBONYL}=[O:3]>>[*+0:1]-[C:2]-[O:3]", 1.0),
        _t("wittig", "Wittig olefination", "[CH1:2](-[#6:5])=O.[CH1;-1:1](-[C;$(C=O),$(C#N):3])"
           "-[P+;$(P(-c)(-c)-c)]>>[*:5]/[CH1:2]=[CH1;+0:1]/[*:3]", 2.5),
        _t("wittig", "Wittig olefination", f"{CARBONYL}=O.[#6;-1:1]-[P+;$(P(-c)(-c)-c)]"
           ">>[C:2]=[C+0:1]", 2.0),
        _t("diels_alder", "Diels-Alder cycloaddition", f"{diene}.[C:5]=[C;{ewg}:6]"
           ">>[C:1]1-[C:2]=[C:3]-[C:4]-[C:6]-[C:5]-1", 1.0),
        _t("diels_alder", "Diels-Alder cycloaddition", f"[c:1]1:[c:2]:[c:3]:[c:4]:[o:7]:1."
           f"[C:5]=[C;{ewg}:6]>>[C:1]12-[C:2]=[C:3]-[C:4](-[O:7]-1)-[C:6]-[C:5]-2", 1.0),
        _t("diels_alder", "Diels-Alder cycloaddition", f"{diene}.[C:5]#[C;{ewg}:6]"
           ">>[C:1]1-[C:2]=[C:3]-[C:4]-[C:6]=[C:5]-1", 1.0),
        # regiochemistry: 'para' from a 2-substituted diene, 'ortho' from a 1-substituted one
        _t("diels_alder", "Diels-Alder cycloaddition", "[CH2:1]=[CH0:2]-[CH1:3]=[CH2:4]."
           f"[C:5]=[C;{ewg}:6]>>[C:1]1-[C:2]=[C:3]-[C:4]-[C:6]-[C:5]-1", 1.5),
        _t("diels_alder", "Diels-Alder cycloaddition", "[CH2:1]=[CH1:2]-[CH1:3]=[CH1:4]."
           f"[C:5]=[C;{ewg}:6]>>[C:1]1-[C:2]=[C:3]-[C:4]-[C:6]-[C:5]-1", 1.5),
    ]  # fmt: skip
    return out


def _oxygen() -> list[Template]:
    """Mitsunobu (inversion at the carbinol carbon), acetal formation and hydrolysis."""
    mitsunobu = {"needs": ("phosphine+azodicarboxylate",), "required": True,
                 "context": {"azodicarboxylate": 3.0}}  # fmt: skip
    alcohol = "[C@;$([CX4;H1,H2]-[OX2H1]);!$(C-[!#6;!#1;!$([OH1])]):1]-[OX2H1]"
    acetal_o = "[OX2;$(O-[CX4])]"
    return [
        _t("mitsunobu", "Mitsunobu reaction", f"{alcohol}.[C:2](=[O:4])-[OX2H1:3]"
           ">>[C@@:1]-[O:3]-[C:2]=[O:4]", 2.0, **mitsunobu),
        _t("mitsunobu", "Mitsunobu reaction", f"{alcohol}.[c:2]-[OX2H1:3]"
           ">>[C@@:1]-[O:3]-[c:2]", 2.0, **mitsunobu),
        _t("mitsunobu", "Mitsunobu reaction", f"{alcohol}.[NX3H1;$(N(C=O)C=O),$(N-S(=O)=O):3]"
           ">>[C@@:1]-[N:3]", 2.0, **mitsunobu),
        _t("acetal_formation", "acetal formation", f"{CARBONYL}=O."
           "[OX2H1:3]-[CX4:4]-[CX4:5]-[OX2H1:6]>>[C:2]1-[O:3]-[C:4]-[C:5]-[O:6]-1", 1.5,
           context={"strong_acid": 2.0}, needs=("strong_acid",), required=True),
        _t("acetal_formation", "acetal formation", f"{CARBONYL}=O."
           "[OX2H1:3]-[CX4:4]-[CX4:5]-[CX4:7]-[OX2H1:6]"
           ">>[C:2]1-[O:3]-[C:4]-[C:5]-[C:7]-[O:6]-1", 1.5,
           context={"strong_acid": 2.0}, needs=("strong_acid",), required=True),
        _t("acetal_formation", "acetal formation", f"{CARBONYL}=O.[CH3:3]-[OX2H1:4]"
           ">>[C:2](-[O:4]-[C:3])-O-[CH3]", 1.0, context={"strong_acid": 2.0},
           needs=("strong_acid",), required=True),
        _t("acetal_hydrolysis", "acetal hydrolysis",
           f"[CX4;!$(C(-O)(-O)-O):1](-{acetal_o})-{acetal_o}>>[C:1]=O", 1.0,
           context={"water": 2.0}, needs=("strong_acid+water",), required=True),
        # a cyclic acetal also gives back its diol: the larger of the two is ranked first
        _t("acetal_hydrolysis", "acetal hydrolysis", "[CX4;R;!$(C(-O)(-O)-O)]"
           "(-[OX2;R:2]-[CX4;R:4])-[OX2;R:3]-[CX4;R:5]>>([O:2]-[C:4].[O:3]-[C:5])", 1.0,
           context={"water": 2.0}, needs=("strong_acid+water",), required=True),
    ]  # fmt: skip


def common_templates() -> list[Template]:
    """Every template of this module."""
    return [*_nitrogen_and_sulfur(), *_redox(), *_carbon_carbon(), *_oxygen()]
