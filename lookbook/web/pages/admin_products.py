"""Admin pages: the catalog's products (retired ones too), creating and editing them, retiring and restoring,
their variants and stock, and a new photo whose predicted labels the admin confirms or corrects.

The forms are validated with the API's schemas (lookbook.web.admin_catalog); prices are typed in major units
("12.50") and converted exactly to minor units.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from lookbook.accounts.roles import Role
from lookbook.catalog import management
from lookbook.catalog.service import get_product
from lookbook.errors import LookbookError
from lookbook.vision.encoder import ModelNotFoundError
from lookbook.vision.images import ImageError
from lookbook.web.admin_catalog import (
    AdminProductListArgs,
    LabelsSchema,
    NewProductSchema,
    NewVariantSchema,
    ProductChangesSchema,
    VariantChangesSchema,
)
from lookbook.web.api import services, transaction
from lookbook.web.pages.admin import (
    ID,
    PRODUCT_ID,
    PerPage,
    admin_bp,
    blank_to_none,
    major_units,
    minor_units,
    query_args,
    renamed,
    try_service,
    validate,
)
from lookbook.web.pages.base import service_error

PRODUCT_TEXT = ("category", "gender", "colour", "description")
PRICE = {"price_minor": "price"}


class ProductArgs(AdminProductListArgs):
    per_page = PerPage()


def labels_text(labels: dict | None) -> str:
    return "\n".join(f"{key}: {value}" for key, value in (labels or {}).items() if value is not None)


def parse_labels(text: str) -> tuple[dict, dict]:
    """Labels typed one per line as "name: value" (masterCategory: Apparel)."""
    labels, problems = {}, []
    for number, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        key, colon, value = line.partition(":")
        if not colon or not key.strip():
            problems.append(f"Line {number}: write each label as name: value.")
            continue
        labels[key.strip()] = value.strip()
    return labels, ({"labels": problems} if problems else {})


def _product_form(form, *, new: bool) -> tuple[dict | None, dict]:
    """The product form's fields for the API's schema: price in minor units, labels as a dict."""
    price, price_errors = minor_units(form.get("price", ""), field_name="price")
    labels, label_errors = parse_labels(form.get("labels", ""))
    data = {"name": form.get("name", ""), "currency": form.get("currency", "").strip().upper() or "USD",
            "labels": labels, **({"price_minor": price} if price is not None else {})}
    if new:
        data.update({k: v for k, v in blank_to_none(form, PRODUCT_TEXT).items() if v is not None})
        if form.get("stock", "").strip():
            data["stock"] = form["stock"].strip()
    else:
        data.update(blank_to_none(form, PRODUCT_TEXT))
    fields, errors = validate(NewProductSchema() if new else ProductChangesSchema(), data)
    errors = {**renamed(errors, PRICE), **price_errors, **label_errors}
    return (None, errors) if errors else (fields, {})


def _form_values(product=None) -> dict:
    if product is None:
        return {"currency": "USD", "stock": "0"}
    return {"name": product.name, "price": major_units(product.price_minor), "currency": product.currency,
            "labels": labels_text(product.labels), **{k: getattr(product, k) or "" for k in PRODUCT_TEXT}}


# ---- the list ----------------------------------------------------------------------------------------------------

@admin_bp.route("/products")
@admin_bp.access(Role.ADMIN)
def products_list():
    args, errors = query_args(ProductArgs())
    with transaction() as session:
        products, total = management.list_admin_products(
            session, status=args["status"], text=args.get("q"), sort=args["sort"], page=args["page"],
            per_page=args["per_page"])
    pages = (total + args["per_page"] - 1) // args["per_page"]
    defaults = ProductArgs().load({})
    filters = {k: args[k] for k in ("q", "status", "sort") if args.get(k) and args[k] != defaults.get(k)}
    return render_template("admin/products.html", products=products, total=total, args=args, filters=filters,
                           page={"page": args["page"], "pages": pages}), 400 if errors else 200


# ---- create and edit ------------------------------------------------------------------------------------------

@admin_bp.route("/products/new", methods=["GET", "POST"])
@admin_bp.access(Role.ADMIN)
def products_new():
    values, errors = _form_values(), {}
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in ("name", "price", "currency", "stock", "labels", *PRODUCT_TEXT)}
        fields, errors = _product_form(request.form, new=True)
        if fields is not None:
            stock_count = fields.pop("stock")
            product, errors = try_service(lambda session: management.create_product(session, fields=fields,
                                                                                      stock_count=stock_count))
            if product is not None:
                flash(f"Product {product.name} (#{product.id}) is created. Add its photo below so that shoppers "
                      "can find it by photo.", "success")
                return redirect(url_for("admin.products_edit", product_id=product.id), code=303)
    return render_template("admin/product_new.html", values=values, errors=errors), 422 if errors else 200


def _product_page(product_id: int, *, status: int = 200, **context):
    with transaction() as session:
        product = get_product(session, product_id=product_id)
        variants = management.variants_of(session, [product.id])[product.id]
    context.setdefault("values", _form_values(product))
    context.setdefault("errors", {})
    context.setdefault("variant_errors", {})
    context.setdefault("variant_values", {})
    context.setdefault("image_error", None)
    return render_template("admin/product.html", product=product, variants=variants,
                           max_upload_mb=services().settings.max_upload_bytes // (1024 * 1024), **context), status


@admin_bp.route(f"/products/<{PRODUCT_ID}:product_id>", methods=["GET", "POST"])
@admin_bp.access(Role.ADMIN)
def products_edit(product_id: int):
    if request.method == "GET":
        return _product_page(product_id)
    values = {k: request.form.get(k, "") for k in ("name", "price", "currency", "labels", *PRODUCT_TEXT)}
    changes, errors = _product_form(request.form, new=False)
    if changes is not None:
        product, errors = try_service(lambda session: management.update_product(session, product_id=product_id,
                                                                                 changes=changes))
        if product is not None:
            flash(f"Product {product.name} is saved.", "success")
            return redirect(url_for("admin.products_edit", product_id=product_id), code=303)
    return _product_page(product_id, values=values, errors=errors, status=422)


@admin_bp.route(f"/products/<{PRODUCT_ID}:product_id>/retire", methods=["POST"])
@admin_bp.access(Role.ADMIN)
def products_retire(product_id: int):
    with transaction() as session:
        product = management.retire_product(session, product_id=product_id)
    flash(f"{product.name} is retired: gone from the shop, search and new carts; past orders keep it.", "success")
    return redirect(url_for("admin.products_edit", product_id=product_id), code=303)


@admin_bp.route(f"/products/<{PRODUCT_ID}:product_id>/restore", methods=["POST"])
@admin_bp.access(Role.ADMIN)
def products_restore(product_id: int):
    with transaction() as session:
        product = management.restore_product(session, product_id=product_id)
    flash(f"{product.name} is on sale again.", "success")
    return redirect(url_for("admin.products_edit", product_id=product_id), code=303)


# ---- photo and labels -----------------------------------------------------------------------------------------

@admin_bp.route(f"/products/<{PRODUCT_ID}:product_id>/image", methods=["POST"])
@admin_bp.access(Role.ADMIN)
def products_image(product_id: int):
    """Store, embed and index the photo at once, then ask the admin to confirm the labels the model predicts."""
    upload = request.files.get("image")
    if upload is None or not upload.filename:
        return _product_page(product_id, image_error="Choose a photo to upload.", status=422)
    data = upload.read(services().settings.max_upload_bytes + 1)
    try:
        management.upload_product_image(services().catalog, product_id=product_id, image_bytes=data)
    except ImageError as error:
        return _product_page(product_id, image_error=str(error), status=422)
    except ModelNotFoundError:
        return _product_page(product_id, image_error="Photos cannot be indexed yet: there is no visual search "
                             "model. Run 'make setup' or 'lookbook train' first.", status=503)
    flash("The photo is saved and searchable now. Check the labels the model suggests for it.", "success")
    return redirect(url_for("admin.products_labels", product_id=product_id), code=303)


def _suggestions(product) -> list[dict]:
    rows = []
    for head, suggestion in sorted((product.predicted_labels or {}).items()):
        column = management.COLUMN_OF_HEAD.get(head)
        current = getattr(product, column) if column else (product.labels or {}).get(head)
        rows.append({"head": head, "label": suggestion.get("label"), "confidence": suggestion.get("confidence"),
                     "current": current})
    return rows


@admin_bp.route(f"/products/<{PRODUCT_ID}:product_id>/labels", methods=["GET", "POST"])
@admin_bp.access(Role.ADMIN)
def products_labels(product_id: int):
    """The model's suggestions for the product's photo: accept them as they are, or type corrections."""
    with transaction() as session:
        product = get_product(session, product_id=product_id)
    rows, errors, typed = _suggestions(product), {}, {}
    if request.method == "POST":
        heads = {row["head"] for row in rows}
        accept = [head for head in request.form.getlist("accept") if head in heads]
        values: dict = {"labels": {}}
        for head in heads:
            typed[head] = request.form.get(f"value-{head}", "")
            text = typed[head].strip()
            if text:  # a correction wins over the suggestion
                column = management.COLUMN_OF_HEAD.get(head)
                if column:
                    values[column] = text
                else:
                    values["labels"][head] = text
                accept = [h for h in accept if h != head]
        data, errors = validate(LabelsSchema(), {"accept": accept, **values})
        if data is None:
            flash("The labels could not be saved: " + "; ".join(
                f"{k}: {' '.join(v)}" for k, v in errors.items()), "error")
        else:
            chosen = data.pop("accept")
            saved, errors = try_service(lambda session: management.confirm_labels(
                session, product_id=product_id, accept=chosen, values=data))
            if saved is not None:
                flash(f"The labels of {saved.name} are saved.", "success")
                return redirect(url_for("admin.products_edit", product_id=product_id), code=303)
    return render_template("admin/product_labels.html", product=product, rows=rows, typed=typed,
                           errors=errors), 422 if errors else 200


# ---- variants -----------------------------------------------------------------------------------------------------

def _variant_form(form, *, new: bool) -> tuple[dict | None, dict]:
    price, price_errors = minor_units(form.get("price", ""), field_name="price", allow_blank=True)
    data = {**blank_to_none(form, ("size", "colour")), "price_minor": price}
    if new:
        data["sku"] = form.get("sku", "")
    if form.get("stock", "").strip() or not new:
        data["stock"] = form.get("stock", "").strip()
    fields, errors = validate(NewVariantSchema() if new else VariantChangesSchema(), data)
    errors = {**renamed(errors, PRICE), **price_errors}
    return (None, errors) if errors else (fields, {})


def _variant_values(form) -> dict:
    return {k: form.get(k, "") for k in ("sku", "size", "colour", "price", "stock")}


@admin_bp.route(f"/products/<{PRODUCT_ID}:product_id>/variants", methods=["POST"])
@admin_bp.access(Role.ADMIN)
def products_variant_add(product_id: int):
    fields, errors = _variant_form(request.form, new=True)
    if fields is not None:
        variant, errors = try_service(lambda session: management.add_variant(
            session, product_id=product_id, sku=fields["sku"], size=fields.get("size"), colour=fields.get("colour"),
            price_minor=fields.get("price_minor"), stock_count=fields["stock"]))
        if variant is not None:
            flash(f"Variant {variant.sku} is added.", "success")
            return redirect(url_for("admin.products_edit", product_id=product_id, _anchor="variants"), code=303)
    return _product_page(product_id, variant_errors={"new": errors}, variant_values={"new": _variant_values(request.form)},
                         status=422)


def _variant_product(variant_id: int) -> int:
    with transaction() as session:
        return management.get_variant(session, variant_id=variant_id).product_id


@admin_bp.route(f"/variants/<{ID}:variant_id>", methods=["POST"])
@admin_bp.access(Role.ADMIN)
def products_variant_edit(variant_id: int):
    product_id = _variant_product(variant_id)
    changes, errors = _variant_form(request.form, new=False)
    if changes is not None:
        variant, errors = try_service(lambda session: management.update_variant(session, variant_id=variant_id,
                                                                                changes=changes))
        if variant is not None:
            flash(f"Variant {variant.sku} is saved.", "success")
            return redirect(url_for("admin.products_edit", product_id=product_id, _anchor="variants"), code=303)
    return _product_page(product_id, variant_errors={variant_id: errors},
                         variant_values={variant_id: _variant_values(request.form)}, status=422)


@admin_bp.route(f"/variants/<{ID}:variant_id>/delete", methods=["POST"])
@admin_bp.access(Role.ADMIN)
def products_variant_delete(variant_id: int):
    product_id = _variant_product(variant_id)
    try:
        with transaction() as session:
            sku = management.get_variant(session, variant_id=variant_id).sku
            management.delete_variant(session, variant_id=variant_id)
    except LookbookError as error:
        return _product_page(product_id, variant_errors={variant_id: service_error(error)}, status=409)
    flash(f"Variant {sku} is deleted.", "success")
    return redirect(url_for("admin.products_edit", product_id=product_id, _anchor="variants"), code=303)
