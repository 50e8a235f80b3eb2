"""Facts about the nano-banana2 model family (see shared/reference/gateway.md)."""

from __future__ import annotations

# Published output pixel sizes per ratio: (1K, 2K).
PIXEL_SIZES: dict[str, dict[str, tuple[int, int]]] = {
    "1:1": {"1K": (1024, 1024), "2K": (2048, 2048)},
    "16:9": {"1K": (1376, 768), "2K": (2752, 1536)},
    "9:16": {"1K": (768, 1376), "2K": (1536, 2752)},
    "4:3": {"1K": (1200, 896), "2K": (2400, 1792)},
    "3:4": {"1K": (896, 1200), "2K": (1792, 2400)},
    "3:2": {"1K": (1264, 848), "2K": (2528, 1696)},
    "2:3": {"1K": (848, 1264), "2K": (1696, 2528)},
    "5:4": {"1K": (1152, 928), "2K": (2304, 1856)},
    "4:5": {"1K": (928, 1152), "2K": (1856, 2304)},
    "21:9": {"1K": (1584, 672), "2K": (3168, 1344)},
}

# Public list price per output image, in US dollars, for cost estimates.
PRICE_PER_IMAGE = {"1K": 0.067, "2K": 0.101}


def pixel_size(aspect_ratio: str, size: str) -> tuple[int, int]:
    return PIXEL_SIZES.get(aspect_ratio, PIXEL_SIZES["1:1"]).get(size.upper(), (1024, 1024))


def estimated_cost(size: str, images: int) -> float:
    """Dollars at list price for ``images`` of ``size``."""
    return PRICE_PER_IMAGE.get(size, PRICE_PER_IMAGE["1K"]) * images
