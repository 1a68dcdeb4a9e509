"""The shop's product catalogue: 50-200 Shopify products with variants, derived from the seed alone.

The catalogue is small, so it is the one thing held in memory; orders, checkouts and events pick from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from demo_data.dirt_sources import SHOP_DOMAIN
from demo_data.keys import Stream, chosen, product_id, rng_for, shop_time, variant_id

CATEGORIES: dict[str, tuple[tuple[str, ...], int, int]] = {
    "Shoes": (("Sneaker", "Runner", "Chelsea Boot", "Loafer", "Trail Shoe"), 60, 220),
    "Outerwear": (("Parka", "Rain Jacket", "Fleece", "Puffer Vest", "Wool Coat"), 80, 390),
    "Tops": (("Tee", "Oxford Shirt", "Merino Sweater", "Hoodie", "Polo"), 20, 120),
    "Bottoms": (("Chinos", "Selvedge Jeans", "Shorts", "Joggers", "Cords"), 40, 160),
    "Accessories": (("Beanie", "Scarf", "Leather Belt", "Wallet", "Sunglasses"), 15, 90),
    "Bags": (("Backpack", "Duffel", "Weekender", "Tote", "Sling Bag"), 45, 260),
}
"""product_type -> (nouns, lowest and highest USD price)."""
ADJECTIVES = (
    "Classic",
    "Everyday",
    "Trail",
    "Organic",
    "Recycled",
    "Heritage",
    "Alpine",
    "Coastal",
    "Urban",
    "Lightweight",
    "Waxed",
    "Field",
    "Summit",
    "Harbor",
    "Nordic",
    "Canyon",
)
VENDORS = ("Northwind Outfitters", "Fjord & Pine", "Cobblestone Goods", "Harbor Supply Co.")
SIZES = {"Shoes": ("40", "41", "42", "43", "44"), "Accessories": ("One Size",), "Bags": ("One Size",)}
DEFAULT_SIZES = ("XS", "S", "M", "L", "XL")
FX_FROM_USD = {"USD": 1.0, "CAD": 1.36, "GBP": 0.79, "EUR": 0.92, "AUD": 1.52}
"""Fixed rates for presentment prices: the demo is about data quality, not exchange rates."""
PRICE_CHANGE_SHARE = 0.03
"""Share of products re-delivered with a change (sale tag, compare-at price) in each increment."""


@dataclass(frozen=True)
class Product:
    n: int
    id: int
    title: str
    product_type: str
    vendor: str
    handle: str
    usd_price: float
    variants: tuple[str, ...]
    created_at: datetime

    def sku(self, v: int) -> str:
        return f"{self.product_type[:3].upper()}-{self.n:04d}-{v}"


def product_count(customers: int) -> int:
    return max(50, min(200, customers // 20))


def build_catalog(seed: int, count: int, base_start: datetime) -> tuple[Product, ...]:
    return tuple(_product(seed, n, base_start) for n in range(count))


def _product(seed: int, n: int, base_start: datetime) -> Product:
    rng = rng_for(seed, Stream.PRODUCTS, 0, n)
    product_type = rng.choice(tuple(CATEGORIES))
    nouns, low, high = CATEGORIES[product_type]
    title = f"{rng.choice(ADJECTIVES)} {rng.choice(nouns)}"
    sizes = SIZES.get(product_type, DEFAULT_SIZES)
    return Product(
        n=n,
        id=product_id(n),
        title=title,
        product_type=product_type,
        vendor=rng.choice(VENDORS),
        handle=f"{title.lower().replace(' ', '-')}-{n}",
        usd_price=round(rng.uniform(low, high)) - 0.01,
        variants=sizes[: rng.randint(1, len(sizes))],
        created_at=base_start - timedelta(days=rng.randint(30, 900)),
    )


def price_in(usd_price: float, currency: str) -> float:
    """Presentment price: converted and rounded to .99 endings, as shops do."""
    return max(0.99, round(usd_price * FX_FROM_USD[currency]) - 0.01)


def money(amount: float) -> str:
    """Shopify sends money as strings with two decimals."""
    return f"{amount:.2f}"


def product_record(product: Product, updated_at: datetime, on_sale: bool) -> dict[str, Any]:
    """A Shopify Admin REST product with its variants and options."""
    created, updated = shop_time(product.created_at), shop_time(updated_at)
    price = product.usd_price * (0.8 if on_sale else 1.0)
    tags = f"{product.product_type.lower()}, {product.vendor.split()[0].lower()}" + (
        ", sale" if on_sale else ""
    )
    return {
        "id": product.id,
        "title": product.title,
        "body_html": f"<p>The {product.title.lower()}: made to last, by {product.vendor}.</p>",
        "vendor": product.vendor,
        "product_type": product.product_type,
        "created_at": created,
        "handle": product.handle,
        "updated_at": updated,
        "published_at": created,
        "template_suffix": None,
        "status": "active",
        "published_scope": "web",
        "tags": tags,
        "admin_graphql_api_id": f"gid://shopify/Product/{product.id}",
        "variants": [
            {
                "id": variant_id(product.n, v),
                "product_id": product.id,
                "title": size,
                "price": money(price),
                "sku": product.sku(v),
                "position": v + 1,
                "inventory_policy": "deny",
                "compare_at_price": money(product.usd_price) if on_sale else None,
                "fulfillment_service": "manual",
                "inventory_management": "shopify",
                "option1": size,
                "option2": None,
                "option3": None,
                "created_at": created,
                "updated_at": updated,
                "taxable": True,
                "barcode": None,
                "grams": 500,
                "requires_shipping": True,
                "admin_graphql_api_id": f"gid://shopify/ProductVariant/{variant_id(product.n, v)}",
            }
            for v, size in enumerate(product.variants)
        ],
        "options": [
            {"product_id": product.id, "name": "Size", "position": 1, "values": list(product.variants)}
        ],
        "images": [],
        "image": None,
    }


def changed_products(seed: int, catalog: tuple[Product, ...], batch: int) -> list[Product]:
    """Products re-delivered in an increment (marked down, with their old price as compare-at price)."""
    return [p for p in catalog if chosen(seed, Stream.PRODUCTS, batch, p.n, PRICE_CHANGE_SHARE)]


def product_url(product: Product) -> str:
    return f"https://{SHOP_DOMAIN}/products/{product.handle}"
