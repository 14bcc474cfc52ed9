"""Several processes (web workers, `lookbook index`) share one data directory and see each other's changes."""

from __future__ import annotations

from lookbook.catalog.service import Catalog, add_product_image, remove_product, search_by_image
from lookbook.catalog.tests.test_search_service import BLACK_TSHIRT, BY_ID, QUERY, TABLE, open_catalog
from lookbook.config import get_paths


def test_a_second_catalog_sees_a_product_removed_and_re_added_by_the_first(lookbook_env, tmp_path):
    writer = open_catalog(tmp_path)
    reader = Catalog(get_paths())
    try:
        assert search_by_image(reader, QUERY, k=1)[0].id == BLACK_TSHIRT

        remove_product(writer, BLACK_TSHIRT)
        hits = search_by_image(reader, QUERY, k=len(TABLE))
        assert BLACK_TSHIRT not in [h.id for h in hits] and len(hits) == len(TABLE) - 1
    finally:
        reader.close()
        writer.close()


def test_saving_its_own_change_does_not_make_a_catalog_reload_the_index(lookbook_env, tmp_path):
    catalog = open_catalog(tmp_path)
    try:
        index = catalog.index
        with catalog.db.session() as session:
            from lookbook.catalog.models import Product
            session.add(Product(id=999, name="New black tee", labels={}, predicted_labels={}, currency="USD", stock=1))
        add_product_image(catalog, 999, BY_ID[BLACK_TSHIRT]["photo"], suffix=".png")
        assert catalog.index is index and 999 in index
    finally:
        catalog.close()
