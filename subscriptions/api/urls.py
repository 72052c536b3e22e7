from accounts.api.routers import OptionalSlashRouter
from subscriptions.api import views

router = OptionalSlashRouter()
router.register("products", views.ProductViewSet, basename="product")

urlpatterns = router.urls
