from core.api.routers import OptionalSlashRouter
from subscriptions.api import views

router = OptionalSlashRouter()
router.register("products", views.ProductViewSet, basename="product")
router.register("plans", views.PlanViewSet, basename="plan")
router.register("subscriptions", views.SubscriptionViewSet, basename="subscription")
router.register("coupons", views.CouponViewSet, basename="coupon")

urlpatterns = router.urls
