"""Import existing subscribers from a CSV file: upload → preview (rows to create, rows
already imported, errors by line and column) → import (subscriptions/imports.py).
Owners and managers import; viewers see the instructions only."""

from __future__ import annotations

import csv

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dashboard.access import member_required, membership, require_write
from subscriptions.imports import (
    IMPORT_MAX_BYTES,
    IMPORT_MAX_ROWS,
    ImportFileError,
    import_decode,
    import_parse,
    subscriptions_import,
)

PREVIEW_ROWS = 20


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV file"))


@member_required
def subscription_import(request: HttpRequest) -> HttpResponse:
    """Viewers read the instructions; only owners and managers send a file (403)."""
    creator = membership(request).creator
    context: dict[str, object] = {
        "nav_section": "subscriptions",
        "max_kb": IMPORT_MAX_BYTES // 1000,
        "max_rows": IMPORT_MAX_ROWS,
    }
    if request.method != "POST":
        return render(
            request, "dashboard/subscriptions/import.html", {**context, "form": ImportUploadForm()}
        )
    require_write(request)
    if request.POST.get("confirmed") == "1":
        content = request.POST.get("content", "")
        try:
            if len(content.encode()) > IMPORT_MAX_BYTES:
                raise ImportFileError(_("The file is too large."))
            result = subscriptions_import(creator=creator, content=content)
        except ImportFileError as exc:
            form = ImportUploadForm()
            return _refused(request, context, form, str(exc))
        return render(
            request, "dashboard/subscriptions/import_done.html", {**context, "result": result}
        )
    form = ImportUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(
            request,
            "dashboard/subscriptions/import.html",
            {**context, "form": form},
            status=400,
        )
    upload = form.cleaned_data["file"]
    if upload.size > IMPORT_MAX_BYTES:
        return _refused(
            request,
            context,
            form,
            _("The file is larger than %(limit)s kB; split it into smaller files.")
            % {"limit": IMPORT_MAX_BYTES // 1000},
        )
    try:
        content = import_decode(upload.read(IMPORT_MAX_BYTES + 1))
        plan = import_parse(creator=creator, content=content)
    except ImportFileError as exc:
        return _refused(request, context, form, str(exc))
    except csv.Error:
        return _refused(request, context, form, _("This is not a CSV file."))
    return render(
        request,
        "dashboard/subscriptions/import_preview.html",
        {
            **context,
            "plan": plan,
            "shown": plan.rows[:PREVIEW_ROWS],
            "more": max(len(plan.rows) - PREVIEW_ROWS, 0),
            "content": content,
        },
    )


def _refused(
    request: HttpRequest, context: dict[str, object], form: ImportUploadForm, message: str
) -> HttpResponse:
    return render(
        request,
        "dashboard/subscriptions/import.html",
        {**context, "form": form, "file_error": message},
        status=400,
    )
