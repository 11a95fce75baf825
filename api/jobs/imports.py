"""The Foo import: creates Foos from a list of items, in batches.

Idempotent per item. Each Foo it creates records its job and the item's index, unique together
(`foo_unique_import_item`). A run skips the items whose Foo exists and inserts the others with
`ignore_conflicts`, so however a run ended (killed mid-batch, or between a batch's commit and
its progress save, or taken for dead while slow and raced by its retry) a re-run creates each
item exactly once. A progress cursor committed with each batch would hold only as long as every
path commits it in the batch's transaction; the constraint holds whatever the runner does, and
also tells which import made each Foo.
"""

from rest_framework.exceptions import ValidationError
from rest_framework.serializers import as_serializer_error

from api.jobs.conf import jobs_setting
from api.models import Foo
from api.serializers import FooSerializer

# Failed items listed in the result; `failed_count` counts them all.
MAX_FAILED_LISTED = 1000


def import_foos(job, progress) -> dict:
    items = job.input["items"]
    total = len(items)
    batch_size = jobs_setting("IMPORT_BATCH_SIZE")
    imported = set(Foo.objects.filter(import_job=job).values_list("import_index", flat=True))
    # One serializer for all items: building one per item costs more than validating.
    serializer = FooSerializer()
    failed = []
    for start in range(0, total, batch_size):
        end = min(start + batch_size, total)
        foos = []
        for index in range(start, end):
            if index in imported:
                continue
            try:
                data = serializer.run_validation(items[index])
            except ValidationError as error:
                failed.append({"index": index, "errors": as_serializer_error(error)})
            else:
                foos.append(Foo(**data, owner_id=job.owner_id, import_job=job, import_index=index))
        Foo.objects.bulk_create(foos, ignore_conflicts=True)
        # bulk_create() sends no signal: a list page following the owner's Foos hears of them.
        batch = Foo.objects.filter(import_job=job, import_index__range=(start, end - 1))
        batch.exclude(import_index__in=imported).notify_created()
        progress.report(end, message=f"Imported {end} of {total} items.")
    return {
        "created": Foo.objects.filter(import_job=job).count(),
        "failed": failed[:MAX_FAILED_LISTED],
        "failed_count": len(failed),
    }
