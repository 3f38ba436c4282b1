"""Categories: the tree, public; staff create, change and delete them."""
from __future__ import annotations

import uuid

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.db import request_session

from marketplace import categories
from marketplace.schemas import CategoryCreateSchema, CategorySchema, CategoryUpdateSchema

blp = Blueprint("categories", __name__, description="Item categories (a tree staff maintain)")


@blp.route("/categories")
class Categories(MethodView):
    @blp.response(200, CategorySchema(many=True))
    def get(self):
        """The whole category tree, flat: depth first, each category right after its parent (siblings by name)

        Each category names its `parent_id` (null at the top) and its `depth`. No sign-in needed.
        """
        return categories.list_categories(request_session())


@blp.route("/admin/categories")
class NewCategory(MethodView):
    @blp.staff_required
    @blp.arguments(CategoryCreateSchema)
    @blp.response(201, CategorySchema)
    @blp.alt_response(409, description="Another category has this slug")
    @blp.alt_response(422, description="Invalid input, or no such parent category")
    def post(self, body):
        """Staff: create a category, at the top or under a parent"""
        return categories.create_category(request_session(), **body)


@blp.route("/admin/categories/<uuid:category_id>")
class StaffCategory(MethodView):
    @blp.staff_required
    @blp.arguments(CategoryUpdateSchema)
    @blp.response(200, CategorySchema)
    @blp.alt_response(404, description="No such category")
    @blp.alt_response(409, description="Another category has this slug")
    @blp.alt_response(422, description="Invalid input, no such parent, or a parent that is the category itself or "
                                       "one of its sub-categories")
    def patch(self, body, category_id: uuid.UUID):
        """Staff: rename, re-slug or move a category (its sub-categories and items move with it)"""
        return categories.update_category(request_session(), category_id, body)

    @blp.staff_required
    @blp.response(204)
    @blp.alt_response(404, description="No such category")
    @blp.alt_response(409, description="The category has sub-categories or items (sold and removed ones count)")
    def delete(self, category_id: uuid.UUID):
        """Staff: delete an empty category"""
        categories.delete_category(request_session(), category_id)
