from core.api.routers import OptionalSlashRouter
from segmentation.api import views

router = OptionalSlashRouter()
router.register("segmentations", views.SegmentationViewSet, basename="segmentation")

urlpatterns = router.urls
