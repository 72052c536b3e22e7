from core.api.routers import OptionalSlashRouter
from notifications.api import views

router = OptionalSlashRouter()
router.register("integrations", views.IntegrationViewSet, basename="integration")

urlpatterns = router.urls
