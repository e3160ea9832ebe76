"""Randomisation: allocation lists, minimisation, kit lists, blinding rules (pure logic).

Nothing here touches a database, the network or the command line. Randomness
comes from a sealed seed (:mod:`~trialkit.randomisation.stream`) or, for
minimisation, from an explicit ``numpy.random.Generator``.
"""

from trialkit.randomisation.allocation_list import (
    AllocationList,
    Slot,
    canonical_text,
    extend_stratum,
    generate_allocation_list,
    list_from_document,
    list_hash,
    list_to_document,
    next_slot,
)
from trialkit.randomisation.blinding import (
    BlindedKit,
    BlindedRandomisation,
    RandomisationRecord,
    UnblindedRandomisation,
    emergency_view,
    kit_view,
    redact,
)
from trialkit.randomisation.blocks import Block, draw_block, draw_blocks
from trialkit.randomisation.kits import (
    Kit,
    KitList,
    KitListVerification,
    generate_kit_list,
    kit_list_hash,
    kit_order_keys,
    verify_kit_list,
)
from trialkit.randomisation.minimisation import (
    MinimisationConfig,
    MinimisationDecision,
    MinimisationState,
    decide,
    imbalance_scores,
    minimisation_config,
    minimise,
)
from trialkit.randomisation.spec import AllocationSpec, Factor, Stratum, allocation_spec
from trialkit.randomisation.stream import SeedStream
from trialkit.randomisation.supply import (
    InventoryKit,
    ResupplyRequest,
    arm_shortfall,
    check_sizing,
    choose_kit,
    depot_fills,
    fefo_order,
    guaranteed_arm_stock,
    resupply_needs,
    resupply_threshold,
    top_up,
    usable,
    usable_after,
)
from trialkit.randomisation.verify import SlotDifference, VerificationResult, regenerate, verify

__all__ = [
    "AllocationList",
    "AllocationSpec",
    "BlindedKit",
    "BlindedRandomisation",
    "Block",
    "Factor",
    "InventoryKit",
    "Kit",
    "KitList",
    "KitListVerification",
    "MinimisationConfig",
    "MinimisationDecision",
    "MinimisationState",
    "RandomisationRecord",
    "ResupplyRequest",
    "SeedStream",
    "Slot",
    "SlotDifference",
    "Stratum",
    "UnblindedRandomisation",
    "VerificationResult",
    "allocation_spec",
    "arm_shortfall",
    "canonical_text",
    "check_sizing",
    "choose_kit",
    "decide",
    "depot_fills",
    "draw_block",
    "draw_blocks",
    "emergency_view",
    "extend_stratum",
    "fefo_order",
    "generate_allocation_list",
    "generate_kit_list",
    "guaranteed_arm_stock",
    "imbalance_scores",
    "kit_list_hash",
    "kit_order_keys",
    "kit_view",
    "list_from_document",
    "list_hash",
    "list_to_document",
    "minimisation_config",
    "minimise",
    "next_slot",
    "redact",
    "regenerate",
    "resupply_needs",
    "resupply_threshold",
    "top_up",
    "usable",
    "usable_after",
    "verify",
    "verify_kit_list",
]
