from accounts.api.routers import OptionalSlashRouter
from notifications.api import views

router = OptionalSlashRouter()
router.register("integrations", views.IntegrationViewSet, basename="integration")
router.register("webhook-endpoints", views.WebhookEndpointViewSet, basename="webhook-endpoint")
router.register("webhook-deliveries", views.WebhookDeliveryViewSet, basename="webhook-delivery")

urlpatterns = router.urls
