"""Who may open which portal page: one decorator per role."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied


def _role_required(role: str):
    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if request.user.role != role:
                raise PermissionDenied("This page belongs to another kind of account.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


school_admin_required = _role_required("school")
vendor_user_required = _role_required("vendor")
staff_required = _role_required("staff")
