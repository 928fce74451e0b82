"""Forms of the puck pages."""

from django import forms


class PuckPhotoForm(forms.Form):
    """A photo of a puck seen from above; on a phone, the camera opens directly."""

    image = forms.FileField(
        label="Photo of the puck (from above)",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png", "capture": "environment"}),
    )
